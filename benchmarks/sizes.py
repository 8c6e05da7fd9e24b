"""MCP result sizes: every tool's answer on fixture scenes (empty, default, 1,000 objects, a
1,000,000-vertex mesh), each within the budget, and the size of tools/list.

    .venv/bin/python -m benchmarks.sizes                       # module mode, full sizes
    .venv/bin/python -m benchmarks.sizes --small --no-write    # 100 objects, 10,000 vertices

Sizes are counted, not timed: the characters of text content a model reads (what the
budget, max_chars, bounds), the characters of structuredContent (typed tools), and the
bytes of the whole JSON-RPC answer (images and links included). The tables go to
benchmarks/RESULTS-mcp.md, in its "Result sizes" section.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
from typing import Any

from blender_http_addon.mcp import budget, jsonrpc, tools

from . import fixture_scenes
from .report import HERE, table
from .targets import connection, server

SECTION = "## Result sizes"
CUT = '{"' + budget.NOTE_KEY + '":'  # how an answer cut to its budget begins
RESULTS = HERE / "RESULTS-mcp.md"
# exec_python's answer on each scene: the largest mesh's vertex coordinates as an array and
# every object's name (summarised unless full=true).
VERTICES = """
import numpy as np
meshes = [obj for obj in D.objects if obj.type == 'MESH']
big = max(meshes, key=lambda obj: len(obj.data.vertices), default=None)
co = np.zeros(len(big.data.vertices) * 3 if big else 0, dtype=np.float32)
if big:
    big.data.vertices.foreach_get('co', co)
{'names': [obj.name for obj in D.objects], 'co': co.reshape(-1, 3)}
"""


@dataclasses.dataclass
class Size:
    scene: str
    call: str
    text: int  # characters of text content
    structured: int | None  # characters of structuredContent, for typed tools
    answer: int  # bytes of the JSON-RPC answer
    error: bool
    cut: bool
    images: int  # image content items


class Mcp:
    """JSON-RPC over one kept-alive connection, as a 2025-11-25 client (structuredContent)."""

    def __init__(self, url: str, token: str | None, version: str = jsonrpc.LATEST) -> None:
        self.conn = connection(url, timeout=600.0)
        self.headers = {"Content-Type": "application/json", "Accept": "application/json",
                        "MCP-Protocol-Version": version}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, params: dict[str, Any]) -> tuple[dict[str, Any], int]:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
        self.conn.request("POST", "/mcp", body=body, headers=self.headers)
        answer = self.conn.getresponse()
        data = answer.read()
        if answer.status != 200 or "result" not in json.loads(data):
            raise RuntimeError(f"{method} answered {answer.status}: {data[:300]!r}")
        return json.loads(data)["result"], len(data)

    def close(self) -> None:
        self.conn.close()


def _size(scene: str, call: str, result: dict[str, Any], answer: int) -> Size:
    texts = [item["text"] for item in result["content"] if item["type"] == "text"]
    structured = result.get("structuredContent")
    return Size(scene, call, sum(len(text) for text in texts),
                None if structured is None else len(json.dumps(structured, ensure_ascii=False,
                                                               separators=(",", ":"))),
                answer, bool(result.get("isError")), any(text.startswith(CUT) for text in texts),
                sum(1 for item in result["content"] if item["type"] == "image"))


def _calls(mcp: Mcp, scene: str) -> list[Size]:
    """Every tool once on the scene as it is (import_file last: it adds objects)."""
    out: list[Size] = []

    def call(name: str, arguments: dict[str, Any], label: str | None = None) -> dict[str, Any]:
        result, answer = mcp.request("tools/call", {"name": name, "arguments": arguments})
        out.append(_size(scene, label or name, result, answer))
        return result

    def value(result: dict[str, Any]) -> Any:
        return json.loads([item["text"] for item in result["content"] if item["type"] == "text"][-1])

    call("open_session", {})
    call("exec_python", {"code": VERTICES})
    call("exec_python", {"code": VERTICES, "full": True}, "exec_python full=true")
    call("blender_info", {})
    listing = value(call("get_scene", {}))
    call("get_scene", {"limit": 1000}, "get_scene limit=1000")
    names = [obj["name"] for obj in listing.get("objects", []) if isinstance(obj, dict)]
    # the dense mesh, else the cube, else the first object (the empty scene: a tool error)
    largest = max(names, key=lambda name: (name == "Dense", name == "Cube"), default="Cube")
    call("get_object", {"name": largest})
    call("get_context", {})
    call("inspect", {})
    call("inspect", {"limit": 1000}, "inspect limit=1000")
    call("screenshot", {"max_size": 256})
    call("screenshot", {"max_size": 256, "views": ["front", "top"]}, "screenshot views")
    call("render", {"engine": "BLENDER_WORKBENCH", "width": 128, "height": 96})
    exported = value(call("export_scene", {"format": "glb", "path": "sizes/scene.glb",
                                           **({"objects": [largest]} if names else {})}))
    call("list_files", {})
    call("read_file", {"path": exported.get("path", "sizes/scene.glb")})
    call("write_file", {"path": "sizes/note.txt", "content": "a note"})
    job = value(call("submit_job", {"code": "[obj.name for obj in D.objects]"}))
    call("get_job", {"job_id": job["id"], "wait": 60})
    call("cancel_job", {"job_id": job["id"]})
    call("search_api", {"query": "subdivision modifier"})
    call("describe_api", {"name": "bpy.types.Object"})
    saved = value(call("checkpoint", {"name": "sizes"}))
    call("restore_checkpoint", {"name": saved.get("name", "sizes")})
    if names:
        call("import_file", {"path": exported["path"]})
    return out


def measure(url: str, token: str | None, objects: int, vertices: int) -> tuple[list[Size], dict[str, int]]:
    """Every tool's answer size on each fixture scene, and tools/list's size per version."""
    mcp = Mcp(url, token)
    try:
        sizes: list[Size] = []
        for scene, code, args in fixture_scenes.fixtures(objects, vertices):
            made, _ = mcp.request("tools/call", {"name": "exec_python",
                                                 "arguments": {"code": code, "args": args}})
            if made.get("isError"):
                raise RuntimeError(f"making the scene {scene}: {made['content'][0]['text'][:500]}")
            sizes += _calls(mcp, scene)
    finally:
        mcp.close()
    listing = {}
    for version in (jsonrpc.LATEST, "2025-03-26"):
        old = Mcp(url, token, version)
        try:
            _, answer = old.request("tools/list", {})
        finally:
            old.close()
        listing[version] = answer
    return sizes, listing


def within_budget(sizes: list[Size]) -> list[Size]:
    """The answers over the default budget (none, when the budget holds)."""
    return [size for size in sizes if size.text > tools.DEFAULT_MAX_CHARS
            or (size.structured or 0) > tools.DEFAULT_MAX_CHARS]


def markdown(sizes: list[Size], listing: dict[str, int], command: str) -> str:
    scenes = list(dict.fromkeys(size.scene for size in sizes))
    calls = list(dict.fromkeys(size.call for size in sizes))
    by = {(size.scene, size.call): size for size in sizes}

    def cell(size: Size | None) -> str:
        if size is None:
            return "-"
        notes = [note for note, present in (("cut", size.cut), ("error", size.error)) if present]
        return f"{size.text:,}" + (f" ({', '.join(notes)})" if notes else "")

    rows = [[call, *(cell(by.get((scene, call))) for scene in scenes)] for call in calls]
    typed = [[call, *(f"{by[(scene, call)].structured:,}" if (scene, call) in by and
                      by[(scene, call)].structured is not None else "-" for scene in scenes)]
             for call in calls if any((scene, call) in by and by[(scene, call)].structured is not None
                                      for scene in scenes)]
    answers = [[call, *(f"{by[(scene, call)].answer:,}" if (scene, call) in by else "-" for scene in scenes)]
               for call in calls]
    largest = max(sizes, key=lambda size: size.text)
    descriptions = max(len(tool["description"].encode()) for tool in tools.TOOLS)
    over = within_budget(sizes)
    return "\n\n".join([
        SECTION, f"`{command}`",
        f"Characters of text content per tool call (what the budget, `max_chars` = "
        f"{tools.DEFAULT_MAX_CHARS:,} by default, bounds), each scene built by `exec_python` first. "
        f"\"cut\": the answer was over its budget, cut with a marker and kept whole in "
        f"`{tools.RESULTS_FOLDER}/`; \"error\": a tool error (e.g. no such object). The largest: "
        f"{largest.text:,} characters ({largest.call}, {largest.scene}). "
        + ("Every answer is within the budget." if not over else
           f"**Over the budget: {', '.join(f'{s.call} ({s.scene})' for s in over)}.**"),
        table(["tool call", *scenes], rows),
        "Characters of `structuredContent` (the typed tools: the same JSON as their text):",
        table(["tool call", *scenes], typed),
        "Bytes of the whole JSON-RPC answer (text, structuredContent, images as base64, links); a "
        "typed answer carries its JSON twice, as text and as `structuredContent`, so its answer is "
        "about twice its text:",
        table(["tool call", *scenes], answers),
        f"`tools/list`: {listing[jsonrpc.LATEST]:,} bytes for a {jsonrpc.LATEST} client (with "
        f"`outputSchema`), {listing['2025-03-26']:,} for a 2025-03-26 one; {len(tools.TOOLS)} tools, the "
        f"longest description {descriptions:,} bytes (limit {tools.MAX_DESCRIPTION_BYTES:,}).",
    ])


def _split() -> tuple[str, str]:
    """RESULTS-mcp.md before its result-sizes section (the last one), and that section."""
    old = RESULTS.read_text() if RESULTS.exists() else "# MCP benchmark\n"
    parts = re.split(rf"^(?={re.escape(SECTION)}$)", old, maxsplit=1, flags=re.MULTILINE)
    return parts[0].rstrip(), (parts[1].rstrip() if len(parts) > 1 else "")


def section() -> str:
    """The result-sizes section RESULTS-mcp.md holds now ("" when none): benchmarks.mcp keeps it."""
    return _split()[1]


def write_section(text: str) -> None:
    """RESULTS-mcp.md with its result-sizes section replaced by text (or added)."""
    RESULTS.write_text(f"{_split()[0]}\n\n{text}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="100 objects and a 10,000-vertex mesh")
    parser.add_argument("--no-write", action="store_true")
    options = parser.parse_args(argv)
    objects, vertices = (100, 10_000) if options.small else (1000, 1_000_000)
    with server("module") as url:
        sizes, listing = measure(url, None, objects, vertices)
    text = markdown(sizes, listing, f"python -m benchmarks.sizes {' '.join(argv or [])}".strip())
    print(text)
    if not options.no_write:
        write_section(text)
    return 1 if within_budget(sizes) else 0


if __name__ == "__main__":
    raise SystemExit(main())
