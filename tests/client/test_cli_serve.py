"""`blender-http serve` is recorded like `start`: the other commands find it, `stop` stops
it, and with several servers recorded a command asks which one instead of guessing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.blender import servers
from tests.conftest import missing

pytestmark = pytest.mark.timeout(180)

CLI = [sys.executable, "-m", "blender_http"]


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLENDER_HTTP_")}
    env["BLENDER_HTTP_STATE_DIR"] = str(tmp_path / "state")
    return env


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=90)


def _records(env: dict[str, str]) -> list[dict[str, object]]:
    return [json.loads(p.read_text()) for p in Path(env["BLENDER_HTTP_STATE_DIR"]).glob("server-*.json")]


@pytest.fixture
def served(cli_env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    reason = servers.availability("module")
    if reason:
        missing(reason)
    proc = subprocess.Popen([*CLI, "serve", "--port", "0", "--token", "t0k",
                             "--log-level", "info"], env=cli_env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not _records(cli_env):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "serve never recorded itself"
        time.sleep(0.05)
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.mark.blender
def test_serve_is_recorded_found_and_stopped(cli_env: dict[str, str],
                                             served: subprocess.Popen[str]) -> None:
    [record] = _records(cli_env)
    assert (record["pid"], record["by"], record["mode"]) == (served.pid, "serve", "module")
    done = run(cli_env, "exec", "-c", "'found'")  # no --url, no token: both from the record
    assert (done.returncode, done.stdout) == (0, "found\n"), done.stderr

    stopped = run(cli_env, "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert "shut down" in stopped.stdout
    _, stderr = served.communicate(timeout=60)
    assert served.returncode == 0
    assert "stopped" in stderr.splitlines()[-1]
    # --log-level info: one access line per request.
    assert re.search(r"blender_http.access INFO: POST /jobs 202 [0-9.]+ ms", stderr), stderr
    assert _records(cli_env) == []


@pytest.mark.blender
def test_several_recorded_servers_are_never_guessed(cli_env: dict[str, str],
                                                    served: subprocess.Popen[str]) -> None:
    # A second live record (this test's own process stands in for a started Blender).
    from blender_http.local import state

    os.environ["BLENDER_HTTP_STATE_DIR"], saved = cli_env["BLENDER_HTTP_STATE_DIR"], os.environ.get(
        "BLENDER_HTTP_STATE_DIR")
    try:
        state.save(1, {"pid": os.getpid(), "port": 1, "url": "http://127.0.0.1:1", "by": "start"})
    finally:
        if saved is None:
            del os.environ["BLENDER_HTTP_STATE_DIR"]
        else:
            os.environ["BLENDER_HTTP_STATE_DIR"] = saved
    done = run(cli_env, "exec", "-c", "1")
    assert done.returncode == 2
    assert "--url" in done.stderr and "(serve, pid" in done.stderr and "(start, pid" in done.stderr
    done = run(cli_env, "stop")
    assert done.returncode == 2 and "--port or --all" in done.stderr


def test_stop_without_any_record_says_where_others_stop(cli_env: dict[str, str]) -> None:
    done = run(cli_env, "stop")
    assert done.returncode == 3
    assert "`serve` is recorded" in done.stderr


def test_logs_of_ended_servers_are_rotated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from blender_http.local import state

    monkeypatch.setenv("BLENDER_HTTP_STATE_DIR", str(tmp_path))
    logs = []
    for age in range(8):
        log = tmp_path / f"blender-{age}.log"
        log.write_text("x")
        os.utime(log, (1000 - age, 1000 - age))
        logs.append(log)
    state.save(1, {"pid": 1, "port": 1, "url": "http://127.0.0.1:1", "log": str(logs[-1])})
    state.prune_logs(keep=5)
    assert sorted(p.name for p in tmp_path.glob("*.log")) == sorted(
        [p.name for p in logs[:5]] + [logs[-1].name])  # the newest orphans and the one in use


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.blender
def test_status_wait_waits_for_a_server_that_is_still_starting(cli_env: dict[str, str]) -> None:
    reason = servers.availability("module")
    if reason:
        missing(reason)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    waiting = subprocess.Popen([*CLI, "status", "--url", url, "--wait", "120"], env=cli_env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    serving = subprocess.Popen([*CLI, "serve", "--port", str(port)], env=cli_env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        stdout, stderr = waiting.communicate(timeout=150)
        assert waiting.returncode == 0, stderr
        assert f"url\t{url}" in stdout
    finally:
        serving.terminate()
        serving.wait(60)


def test_status_wait_gives_up_with_exit_3(cli_env: dict[str, str]) -> None:
    done = run(cli_env, "status", "--url", f"http://127.0.0.1:{_free_port()}", "--wait", "0.5")
    assert done.returncode == 3 and "cannot reach" in done.stderr


def test_records_of_servers_that_died_do_not_make_stop_ambiguous(cli_env: dict[str, str]) -> None:
    # Servers killed without a clean stop (a crash, SIGKILL) leave their records behind.
    folder = Path(cli_env["BLENDER_HTTP_STATE_DIR"])
    folder.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that is gone
    for port in (41001, 41002):
        (folder / f"server-{port}.json").write_text(json.dumps(
            {"pid": dead.pid, "port": port, "url": f"http://127.0.0.1:{port}", "by": "serve"}))
    done = run(cli_env, "stop")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("already gone") == 2
    assert _records(cli_env) == []
