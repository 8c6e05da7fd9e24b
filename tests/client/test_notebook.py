"""`%load_ext blender_http` in a real IPython kernel (nbclient runs a notebook) against the
real module-mode server: %%blender, sessions, inline images, ExecResult's rich display."""

from __future__ import annotations

from typing import Any

import pytest

from blender_http.display import as_bytes, displayable, image_type, result_html
from blender_http.envelope import ExecResult
from blender_http.ext.notebook import magic_options
from tests.blender import servers
from tests.client.conftest import TOKEN

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 8


def cells(url: str) -> list[str]:
    return [
        "%load_ext blender_http",
        f"%%blender --url {url} --session nb\nimport bpy\nprint('objects:', len(bpy.data.objects))\n"
        "kept = 41\nkept + 1",
        f"%%blender --url {url} --session nb\nkept",
        f"%%blender --url {url}\nimport bpy\nscene = bpy.context.scene\nscene.render.resolution_x = 32\n"
        "scene.render.resolution_y = 18\nscene.render.filepath = WORKDIR + '/nb.png'\n"
        "scene.render.engine = 'CYCLES'\n"
        "scene.cycles.samples = 1\nbpy.ops.render.render(write_still=True)\n"
        "open(WORKDIR + '/nb.png', 'rb').read()",
        f"from blender_http import Blender\nb = Blender({url!r})\nb.render(width=32, height=18, samples=1)",
        "b.exec(\"print('hi')\\n6 * 7\")",
        f"%%blender --url {url}\nprint('before')\nraise ValueError('boom')",
    ]


@pytest.mark.blender
@pytest.mark.timeout(300)
def test_a_notebook_runs_cells_in_blender(server: servers.Running, monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("BLENDER_HTTP_TOKEN", TOKEN)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells(server.url)])
    nbclient.NotebookClient(notebook, timeout=240, kernel_name="python3", allow_errors=True).execute()
    outputs = [cell.outputs for cell in notebook.cells]

    assert not outputs[0]
    assert stream(outputs[1], "stdout") == "objects: 3\n"
    assert result(outputs[1])["text/plain"] == "42"
    assert result(outputs[2])["text/plain"] == "41"  # the session kept its variable
    assert "image/png" in result(outputs[3])  # an image result, inline
    assert "image/png" in result(outputs[4])  # a render's bytes, inline
    rich = result(outputs[5])
    assert "<pre>hi\n</pre>" in rich["text/html"] and "42" in rich["text/html"]
    assert "**result**" in rich["text/markdown"]
    failed = outputs[6]
    assert stream(failed, "stdout") == "before\n"
    error = next(o for o in failed if o["output_type"] == "error")
    assert "ValueError: boom" in "\n".join(error["traceback"])
    assert not any("site-packages" in line for line in error["traceback"])  # Blender's, not ours


def stream(outputs: list[Any], name: str) -> str:
    return "".join(o["text"] for o in outputs if o["output_type"] == "stream" and o["name"] == name)


def result(outputs: list[Any]) -> dict[str, Any]:
    found = [o for o in outputs if o["output_type"] in ("execute_result", "display_data")]
    assert found, outputs
    data: dict[str, Any] = found[-1]["data"]
    return data


# -- pure parts ----------------------------------------------------------------------------

def test_images_are_told_by_their_signature() -> None:
    assert image_type(PNG) == "image/png"
    assert image_type(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert image_type(b"text") is None
    assert as_bytes({"$bytes": "aGk="}) == b"hi"
    assert as_bytes({"$bytes": "aGk=", "other": 1}) is None
    assert displayable({"a": 1}) == {"a": 1}
    bundle = displayable(PNG)._repr_mimebundle_()
    assert bundle["image/png"] == PNG


def test_result_html_escapes_what_the_code_printed() -> None:
    page = result_html(ExecResult(result="<b>", stdout="<script>", stderr="", duration_ms=1.0, job="j"))
    assert "&lt;script&gt;" in page and "&lt;b&gt;" in page and "<script>" not in page


def test_magic_options() -> None:
    options = magic_options("--session s --url http://x:1 --timeout 5")
    assert (options.session, options.url, options.timeout) == ("s", "http://x:1", 5.0)
