"""The result-size benchmark (benchmarks/sizes.py) run small against a real module-mode
Blender: every tool answers on every fixture scene, each answer's text and structuredContent
within the default budget, the typed ones' structuredContent as long as their text (the same
JSON), and tools/list larger for a client that gets outputSchema."""

from __future__ import annotations

from benchmarks import sizes
from blender_http_addon.mcp import jsonrpc, tools
from tests.blender import servers
from tests.mcp.conftest import TOKEN

TYPED = {"blender_info", "get_scene", "get_scene limit=1000", "get_object", "get_context", "get_job",
         "inspect", "inspect limit=1000"}


def test_every_tool_answers_within_the_budget_on_every_fixture_scene(module_server: servers.Running) -> None:
    measured, listing = sizes.measure(module_server.url, TOKEN, objects=100, vertices=10_000)
    assert sizes.within_budget(measured) == []
    assert max(size.text for size in measured) <= tools.DEFAULT_MAX_CHARS
    scenes = ["empty", "default", "100 objects", "10,000-vertex mesh"]
    assert list(dict.fromkeys(size.scene for size in measured)) == scenes
    calls = {size.call for size in measured}
    assert {call.split()[0] for call in calls} == set(tools.NAMES)
    for size in measured:
        assert (size.structured is not None) is (size.call in TYPED and not size.error), size
        if size.structured is not None:
            assert size.structured == size.text, size
    by = {(size.scene, size.call): size for size in measured}
    # the full vertex array of the dense mesh is cut to the budget; its summary is not
    assert by[("10,000-vertex mesh", "exec_python full=true")].cut
    assert not by[("10,000-vertex mesh", "exec_python")].cut
    # images come as image content beside their text, and are not counted in it
    assert by[("default", "render")].images == 1 and by[("default", "screenshot")].images == 1
    assert by[("empty", "get_object")].error  # no object to describe
    assert listing[jsonrpc.LATEST] > listing["2025-03-26"] > 0
    text = sizes.markdown(measured, listing, "python -m benchmarks.sizes --small")
    assert text.startswith(sizes.SECTION) and "Every answer is within the budget." in text
