"""The client's CLI run by Windows CPython against a real Linux Blender (module mode, with a
token): `exec`, `status`, `jobs submit/status/wait` and `batch`, every value checked. Each
command runs under 3.11 and 3.13 at once (wine.Session.run_all). The files the Windows side
reads and writes lie in the test's own folder, which Windows sees through Wine's Z: drive.
One Linux server for the module."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.blender import servers
from tests.windows import wine

# The first test to run may set up Wine, the Pythons and their packages (minutes, on a fresh
# machine) before its own work.
pytestmark = pytest.mark.timeout(1200)

# Nothing of this (Linux) environment chooses the server or token for the Windows CLI: every
# test says them itself. An empty BLENDER_HTTP_STATE_DIR is no folder: the Windows default
# (%LOCALAPPDATA%\blender-http, in the session's prefix) is used.
CLEAN_ENV = {"BLENDER_HTTP_URL": "", "BLENDER_HTTP_TOKEN": "", "BLENDER_HTTP_TOKEN_FILE": "",
             "BLENDER_HTTP_STATE_DIR": ""}

Done = subprocess.CompletedProcess[str]


def cli(server: servers.Running | None, *args: str, env: dict[str, str] | None = None,
        utf8: bool = True, by_version: dict[str, list[str]] | None = None) -> dict[str, Done]:
    """`python.exe -m blender_http ARGS` (then by_version's arguments of each Python, and --url
    and --token of server, if given) under every Windows Python at once, by version."""
    assert wine.current is not None
    options = ["--url", server.url, "--token", server.token or ""] if server is not None else []
    commands = {v: ["-m", "blender_http", *args, *(by_version or {}).get(v, []), *options]
                for v in wine.VERSIONS}
    return wine.current.run_all(commands, env={**CLEAN_ENV, **(env or {})}, utf8=utf8)


def ok(done: dict[str, Done]) -> dict[str, str]:
    """Each Python's stdout, once all exited 0."""
    for version, run in done.items():
        assert run.returncode == 0, f"{version}: rc {run.returncode}\n{run.stdout}\nstderr:\n{run.stderr}"
    return {version: run.stdout for version, run in done.items()}


def same(outputs: dict[str, str]) -> str:
    """The one output every Python printed."""
    assert len(set(outputs.values())) == 1, outputs
    return next(iter(outputs.values()))


def test_exec(linux_server: servers.Running, tmp_path: Path) -> None:
    code = ("import bpy, sys\nprint('on', sys.platform, 'é')\n"
            "{'n': args['n'] * 7, 'names': sorted(o.name for o in bpy.data.objects)}")
    out = same(ok(cli(linux_server, "exec", "-c", code, "--args", '{"n": 6}')))
    assert out == 'on linux é\n{"n": 42, "names": ["Camera", "Cube", "Light"]}\n'
    # A script file and a file argument, both read by Windows from Z:, and the envelope (--json).
    blob = os.urandom(200_000)
    (tmp_path / "blob.bin").write_bytes(blob)
    (tmp_path / "digest.py").write_text("import hashlib\nprint('ü', len(args['blob']))\n"
                                        "hashlib.sha256(args['blob']).hexdigest()\n", encoding="utf-8")
    outputs = ok(cli(linux_server, "exec", "--json", wine.windows_path(tmp_path / "digest.py"),
                     "--arg", f"blob=@{wine.windows_path(tmp_path / 'blob.bin')}"))
    for version, out in outputs.items():
        envelope = json.loads(out)
        assert envelope["ok"] is True, (version, envelope)
        assert (envelope["result"], envelope["stdout"]) == (hashlib.sha256(blob).hexdigest(), "ü 200000\n")


def test_exec_failure_in_the_ansi_code_page(linux_server: servers.Running) -> None:
    """Exit 1, the output printed before, the traceback on stderr. Without UTF-8 mode a Windows
    pipe carries the ANSI code page (cp1252 here): what that cannot encode is written as an
    escape, not a UnicodeEncodeError."""
    code = "print('caf\\u00e9 \\u2713')\nraise KeyError('nope')"
    for version, failed in cli(linux_server, "exec", "-c", code, utf8=False).items():
        assert failed.returncode == 1, (version, failed)
        # é is one cp1252 byte (not UTF-8, so read here as U+FFFD); ✓ is escaped.
        assert failed.stdout == "caf\ufffd \\u2713\n", (version, failed)
        assert "KeyError: 'nope'" in failed.stderr, (version, failed.stderr)
        assert "UnicodeEncodeError" not in failed.stderr, (version, failed.stderr)


def test_status(linux_server: servers.Running) -> None:
    # The server and token from the environment this time.
    env = {"BLENDER_HTTP_URL": linux_server.url, "BLENDER_HTTP_TOKEN": linux_server.token or ""}
    for version, out in ok(cli(None, "status", "--json", env=env)).items():
        health = json.loads(out)
        assert (health["status"], health["mode"], health["busy"], health["queued"]) == (
            "ok", "module", False, 0), (version, health)
        assert health["blender"].split(".")[0].isdigit() and health["max_queue"] >= 1, (version, health)
    # Nobody listening: exit 3 (unreachable: nothing ran, safe to try again), and why.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    for version, done in cli(None, "status", "--url", closed).items():
        assert done.returncode == 3 and closed in done.stderr, (version, done)


def test_jobs_submit_status_wait(linux_server: servers.Running) -> None:
    code = "import time\ntime.sleep(1)\nprint('slept')\n6 * 7"
    submitted = ok(cli(linux_server, "jobs", "submit", "-c", code))
    ids = {version: out.strip() for version, out in submitted.items()}
    assert len(set(ids.values())) == len(ids), ids  # each Python its own job
    assert all(len(i) >= 8 and i.isalnum() for i in ids.values()), ids
    each = {v: [job_id] for v, job_id in ids.items()}
    assert set(ok(cli(linux_server, "jobs", "wait", by_version=each)).values()) == {"slept\n42\n"}
    for version, out in ok(cli(linux_server, "jobs", "status", "--json", by_version=each)).items():
        view = json.loads(out)
        assert (view["id"], view["status"]) == (ids[version], "succeeded"), (version, view)
        envelope = view["envelope"]
        assert (envelope["ok"], envelope["result"], envelope["stdout"]) == (True, 42, "slept\n"), view


BATCH_SCRIPT = """\
x = args.get("x", args.get("item"))
if x == "boom":
    raise ValueError(f"bad item {x}")
print("item", x)
{"square": x * x, "name": args.get("name")}
"""
ITEMS: list[Any] = [{"x": 2, "name": "zwei"}, 3, {"x": "boom"}, {"x": 12, "name": "zwölf"}]
RESULTS = [{"square": 4, "name": "zwei"}, {"square": 9, "name": None}, None, {"square": 144, "name": "zwölf"}]


def test_batch(linux_server: servers.Running, tmp_path: Path) -> None:
    script, items = tmp_path / "script.py", tmp_path / "items.jsonl"
    script.write_text(BATCH_SCRIPT, encoding="utf-8")
    items.write_text("".join(json.dumps(i) + "\n" for i in ITEMS), encoding="utf-8")
    results = {v: tmp_path / f"results-{v}.jsonl" for v in wine.VERSIONS}  # each Python its own
    files = {v: ["--out", wine.windows_path(path)] for v, path in results.items()}
    command = ["batch", wine.windows_path(script), "--items", wine.windows_path(items)]
    for version, done in cli(linux_server, *command, by_version=files).items():
        assert done.returncode == 1, (version, done)  # one item failed
        assert "4/4 items done, 3 succeeded" in done.stderr, (version, done.stderr)
        written = results[version].read_text(encoding="utf-8").splitlines()
        lines = sorted((json.loads(line) for line in written), key=lambda line: line["index"])
        assert [line["index"] for line in lines] == [0, 1, 2, 3], lines
        assert [line["item"] for line in lines] == ITEMS
        assert [line["ok"] for line in lines] == [True, True, False, True], lines
        assert [line.get("result") for line in lines] == RESULTS
        assert [line.get("stdout") for line in lines] == ["item 2\n", "item 3\n", "", "item 12\n"]
        error = lines[2]["error"]
        assert (error["type"], error["message"]) == ("ValueError", "bad item boom"), error
    # A rerun with --retry-failed drops the failed line and runs that item only (it fails again).
    for version, done in cli(linux_server, *command, "--retry-failed", by_version=files).items():
        assert done.returncode == 1, (version, done)
        lines = [json.loads(line) for line in results[version].read_text(encoding="utf-8").splitlines()]
        assert sorted(line["index"] for line in lines[:3]) == [0, 1, 3] and lines[3]["index"] == 2, lines
        assert [line["ok"] for line in lines] == [True, True, True, False], lines
        assert lines[3]["error"]["message"] == "bad item boom"
