"""The budget of a tool result (SPEC 3.10) against a real module-mode Blender, through the
official SDK client: large arrays come back summarised, or whole with full=true kept in a
work-folder file that read_file pages back; long output is cut with a marker; get_scene's
default page fits."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from mcp import Client

from blender_http_addon.mcp import tools
from tests.blender import servers
from tests.mcp.conftest import TOKEN
from tests.mcp.sdk import http_client, run, text_of

BUDGET = tools.DEFAULT_MAX_CHARS
ARRAY = "import numpy as np\nnp.arange(1_000_000, dtype=np.float64) * 0.5"


def _run(server: servers.Running, check: Callable[[Client], Awaitable[None]]) -> None:
    async def main() -> None:
        async with http_client(server.url + "/mcp", TOKEN) as client:
            await check(client)
    run(main)


def _text(result: Any) -> str:
    texts = [item.text for item in result.content if item.type == "text"]
    assert len(texts) == 1, result
    return str(texts[0])


async def _read_whole(client: Client, path: str, page: int) -> tuple[bytes, int]:
    """The file at path, paged by read_file `page` bytes at a time; and how many pages."""
    parts: list[bytes] = []
    offset: int | None = 0
    while offset is not None:
        answer = await client.call_tool("read_file", {"path": path, "offset": offset, "limit": page,
                                                      "max_chars": tools.MAX_MAX_CHARS})
        assert not answer.is_error, _text(answer)[:500]
        assert len(_text(answer)) <= tools.MAX_MAX_CHARS
        got = text_of(answer)
        assert got["offset"] == offset and got["encoding"] == "utf-8" and 0 < got["length"] <= page
        parts.append(got["content"].encode())
        offset = got["next_offset"]
    return b"".join(parts), len(parts)


def test_a_large_array_is_summarised_and_whole_with_full_paged_back(module_server: servers.Running) -> None:
    async def check(client: Client) -> None:
        summarised = await client.call_tool("exec_python", {"code": ARRAY})
        assert not summarised.is_error and len(_text(summarised)) <= BUDGET
        answer = text_of(summarised)
        array = answer["result"]["$array"]
        assert array["shape"] == [1_000_000] and array["dtype"] == "float64"
        assert (array["min"], array["max"]) == (0.0, 499_999.5)
        assert array["first"] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5]
        assert "full=true" in answer["summarised"] and "cut" not in answer

        whole = await client.call_tool("exec_python", {"code": ARRAY, "full": True})
        assert not whole.is_error and len(_text(whole)) <= BUDGET
        cut = text_of(whole)
        note = cut["cut"]
        assert note["file"].startswith(tools.RESULTS_FOLDER + "/") and note["chars"] > 1_000_000
        shown = cut["result"]
        assert shown[:3] == [0.0, 0.5, 1.0] and len(shown) < 5_000
        assert shown[-1].startswith("[cut here: ") and note["file"] in shown[-1]

        data, pages = await _read_whole(client, note["file"], 1_000_000)
        assert pages > 1 and len(data) == note["bytes"]
        full = json.loads(data)
        assert full["result"] == [i * 0.5 for i in range(1_000_000)]
        assert full["job"] == cut["job"]
    _run(module_server, check)


def test_read_file_pages_never_split_a_character(module_server: servers.Running) -> None:
    text = "héllo wörld ✓\n" * 3000  # 1, 2 and 3 byte characters
    async def check(client: Client) -> None:
        await client.call_tool("write_file", {"path": "pages/utf8.txt", "content": text})
        data, pages = await _read_whole(client, "pages/utf8.txt", 1001)
        assert data.decode() == text and pages >= len(text.encode()) // 1001
        answer = await client.call_tool("read_file", {"path": "pages/utf8.txt"})
        first = text_of(answer)
        assert len(_text(answer)) <= BUDGET and first["next_offset"] == first["length"] < len(text.encode())
        small = await client.call_tool("read_file", {"path": "pages/utf8.txt", "max_chars": 1000})
        assert len(_text(small)) <= 1000 and 0 < text_of(small)["length"] <= 1000
        past = text_of(await client.call_tool("read_file", {"path": "pages/utf8.txt", "offset": 10**9}))
        assert past["content"] == "" and past["next_offset"] is None
    _run(module_server, check)


def test_a_long_stdout_is_cut_at_a_line_with_a_marker(module_server: servers.Running) -> None:
    code = "for i in range(20000):\n    print(f'line {i:05d}')\n'done'"
    async def check(client: Client) -> None:
        answer = await client.call_tool("exec_python", {"code": code})
        assert not answer.is_error and len(_text(answer)) <= BUDGET
        got = text_of(answer)
        assert got["result"] == "done"
        stdout = got["stdout"]
        head, marker, tail = stdout.partition("[cut here: ")
        assert marker and got["cut"]["file"] in tail
        assert head.startswith("line 00000\n") and head.endswith("line " + head[-6:-1] + "\n")
        left_out = int(tail.split(" characters")[0].replace(",", ""))
        rest = tail.split("\n", 1)[1]
        assert rest.endswith("line 19999\n") and rest.startswith("line ")  # from a line's start
        assert len(head) + left_out + len(rest) == 20000 * len("line 00000\n")
        smaller = await client.call_tool("exec_python", {"code": code, "max_chars": 2000})
        assert len(_text(smaller)) <= 2000 and "[cut here: " in text_of(smaller)["stdout"]
        whole = json.loads((await _read_whole(client, got["cut"]["file"], 1_000_000))[0])
        assert whole["stdout"] == "".join(f"line {i:05d}\n" for i in range(20000))
    _run(module_server, check)


def test_get_scene_on_a_thousand_objects_fits_the_budget(module_server: servers.Running) -> None:
    make = ("names = []\nfor i in range(1000):\n    obj = D.objects.new(f'Budget{i:04d}', None)\n"
            "    C.scene.collection.objects.link(obj)\n    names.append(obj.name)\nlen(names)")
    remove = ("for obj in [o for o in D.objects if o.name.startswith('Budget')]:\n"
              "    D.objects.remove(obj)")
    async def check(client: Client) -> None:
        made = await client.call_tool("exec_python", {"code": make})
        assert text_of(made)["result"] == 1000
        try:
            answer = await client.call_tool("get_scene", {})
            assert len(_text(answer)) <= BUDGET
            page = text_of(answer)
            assert "cut" not in page and page["total"] >= 1000
            assert 0 < len(page["objects"]) <= tools.SCENE_PAGE
            assert page["next_offset"] == len(page["objects"])
            more = text_of(await client.call_tool("get_scene", {"offset": page["next_offset"], "limit": 1000,
                                                                "max_chars": 50_000}))
            assert "cut" not in more and more["objects"][0]["name"] > page["objects"][-1]["name"]
            assert more["next_offset"] == page["next_offset"] + len(more["objects"]) < more["total"]
        finally:
            await client.call_tool("exec_python", {"code": remove})
    _run(module_server, check)


def test_max_chars_is_bounded(module_server: servers.Running) -> None:
    async def check(client: Client) -> None:
        for value in (tools.MIN_MAX_CHARS - 1, tools.MAX_MAX_CHARS + 1, "big"):
            answer = await client.call_tool("blender_info", {"max_chars": value})
            assert answer.is_error and "max_chars" in text_of(answer)["error"]["message"]
    _run(module_server, check)
