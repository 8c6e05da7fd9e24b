"""MCP: a tool call's round trip against the add-on's /mcp beside `POST /exec` of the same
code (target ≤ 1.5x exec), and the GUI screenshot as an MCP image at 1280 pixels.

    .venv/bin/python -m benchmarks.mcp                 # module, background and GUI
    .venv/bin/python -m benchmarks.mcp --quick --modes module --no-write

Both paths run on one kept-alive connection each, in interleaved rounds. The figures go to
benchmarks/RESULTS-mcp.md (benchmarks/RESULTS.md is rewritten whole by benchmarks.run),
keeping the result sizes benchmarks.sizes wrote there.
"""

from __future__ import annotations

import argparse
import http.client
import json
import time
from collections.abc import Callable

from . import sizes
from .report import HERE, table
from .stats import summary
from .targets import connection, server

CODE = "1 + 1"
TARGET_RATIO = 1.5
SCREENSHOT_TARGET_MS = 150.0


def _exec(conn: http.client.HTTPConnection) -> None:
    conn.request("POST", "/exec", body=CODE.encode(), headers={"Content-Type": "text/plain"})
    answer = conn.getresponse()
    body = answer.read()
    if answer.status != 200 or json.loads(body)["result"] != 2:
        raise RuntimeError(f"exec answered {answer.status}: {body[:200]!r}")


def _tool(name: str, arguments: dict[str, object]) -> Callable[[http.client.HTTPConnection], dict]:
    message = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                          "params": {"name": name, "arguments": arguments}}).encode()

    def call(conn: http.client.HTTPConnection) -> dict:
        conn.request("POST", "/mcp", body=message, headers={"Content-Type": "application/json",
                                                            "Accept": "application/json"})
        answer = conn.getresponse()
        body = answer.read()
        result = json.loads(body).get("result") if answer.status == 200 else None
        if not result or result.get("isError"):
            raise RuntimeError(f"{name} answered {answer.status}: {body[:300]!r}")
        return dict(result)
    return call


def _timed(call: Callable[[http.client.HTTPConnection], object], conn: http.client.HTTPConnection,
           count: int) -> list[float]:
    out = []
    for _ in range(count):
        start = time.perf_counter()
        call(conn)
        out.append((time.perf_counter() - start) * 1000.0)
    return out


def round_trips(url: str, requests: int, rounds: int) -> tuple[list[float], list[float]]:
    """Milliseconds per POST /exec and per exec_python tool call, interleaved."""
    tool = _tool("exec_python", {"code": CODE})
    exec_conn, mcp_conn = connection(url), connection(url)
    exec_ms: list[float] = []
    mcp_ms: list[float] = []
    try:
        _timed(_exec, exec_conn, 20)
        _timed(tool, mcp_conn, 20)
        for _ in range(rounds):
            exec_ms += _timed(_exec, exec_conn, requests // rounds)
            mcp_ms += _timed(tool, mcp_conn, requests // rounds)
    finally:
        exec_conn.close()
        mcp_conn.close()
    return exec_ms, mcp_ms


def screenshots(url: str, count: int) -> tuple[list[float], dict]:
    """Milliseconds per screenshot tool call at max_size 1280, and what the last one said."""
    tool = _tool("screenshot", {"max_size": 1280})
    conn = connection(url)
    try:
        tool(conn)  # the first draw compiles shaders
        out, last = [], {}
        for _ in range(count):
            start = time.perf_counter()
            last = tool(conn)
            out.append((time.perf_counter() - start) * 1000.0)
    finally:
        conn.close()
    return out, json.loads(last["content"][1]["text"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="module,background,gui")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    options = parser.parse_args(argv)
    requests, rounds, shots = (40, 2, 3) if options.quick else (2000, 10, 10)
    rows, shot_rows = [], []
    for mode in [m for m in options.modes.split(",") if m]:
        with server(mode) as url:
            exec_ms, mcp_ms = round_trips(url, requests, rounds)
            a, b = summary(exec_ms), summary(mcp_ms)
            ratio = b["p50"] / a["p50"]
            rows.append([mode, f"{a['p50']:.2f}", f"{b['p50']:.2f}", f"{b['p99']:.2f}", f"{ratio:.2f}",
                         "met" if ratio <= TARGET_RATIO else "missed"])
            if mode == "gui":
                shot_ms, last = screenshots(url, shots)
                s = summary(shot_ms)
                shot_rows.append([mode, f"{last['image_width']}x{last['image_height']}", last["source"],
                                  f"{last['image_bytes'] // 1024}", f"{s['p50']:.1f}", f"{max(shot_ms):.1f}",
                                  "met" if s["p50"] <= SCREENSHOT_TARGET_MS else "missed"])
    text = "\n\n".join([
        "# MCP benchmark", f"`python -m benchmarks.mcp {' '.join(argv or [])}`".replace(" `", "`"),
        "## Tool call round trip against POST /exec",
        f"`exec_python` with `{CODE}` through `POST /mcp` beside `POST /exec` of the same code, "
        f"{requests} each on one kept-alive connection; target ≤ {TARGET_RATIO}x exec at p50.",
        table(["mode", "exec p50 ms", "MCP p50 ms", "MCP p99 ms", "ratio", "target"], rows),
    ])
    if shot_rows:
        text += "\n\n" + "\n\n".join([
            "## GUI screenshot as MCP image content",
            f"`screenshot` with `max_size` 1280 in a 1280x720 Xvfb screen, {shots} calls after one warm-up; "
            f"the time includes the PNG, base64 and JSON. Target ≤ {SCREENSHOT_TARGET_MS:g} ms at p50.",
            table(["mode", "image", "source", "KiB", "p50 ms", "max ms", "target"], shot_rows)])
    print(text)
    if not options.no_write:
        sizes_section = sizes.section()  # benchmarks.sizes writes that one
        (HERE / "RESULTS-mcp.md").write_text(text + "\n" + (f"\n{sizes_section}\n" if sizes_section else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
