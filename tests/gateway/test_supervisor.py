"""--spawn: the gateway launches workers, answers 502 for a request on one that dies, and
restarts it."""

from __future__ import annotations

import getpass
import json
import os
import signal
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from blender_http.local import state
from blender_http.local.launcher import alive
from tests.blender import servers
from tests.conftest import missing
from tests.gateway import gateways
from tests.gateway.conftest import KEY, _needs_module_mode

RECOVERY_DEADLINE_S = 60.0


FILE_KEY = "key-from-a-file-5d8e2a7c"
KILL_AFTER_S = 2.0


@pytest.fixture(scope="module")
def spawned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[gateways.Gateway]:
    _needs_module_mode()
    folder = tmp_path_factory.mktemp("spawn")
    (folder / "keys").write_text(FILE_KEY + "\n")
    temp = folder / "tmp"
    temp.mkdir()
    running = gateways.start(folder, "--spawn", "1", "--kill-after", str(KILL_AFTER_S), key=KEY,
                             env={"BLENDER_HTTP_API_KEYS_FILE": str(folder / "keys"),
                                  "BLENDER_HTTP_MAX_QUEUE": "7", "TMPDIR": str(temp)})
    yield running
    running.stop()
    # Its workers' files too, the ones killed on the way included: nothing but the user's
    # folder of gateway folders (blender_http.local.temp), empty.
    assert sorted(str(p.relative_to(temp)) for p in temp.rglob("*")) == [
        f"blender-http-gateway-{getpass.getuser()}"]


def worker_pid(client: httpx.Client) -> int:
    backends = client.get("/health").json()["backends"]
    assert [b["key"] for b in backends] == ["spawn-0"]
    return int(backends[0]["pid"])


def test_a_spawned_worker_runs_code(spawned: gateways.Gateway) -> None:
    with spawned.client() as client:
        answer = client.post("/exec", content="import bpy\nbpy.app.background")
        assert answer.json()["result"] is True
        assert client.get("/health").json()["backends"][0]["mode"] == "module"


def test_spawned_workers_are_the_gateways_not_the_users_servers(spawned: gateways.Gateway) -> None:
    # A bare `blender-http exec` next to a gateway must not find its workers as candidates.
    with spawned.client() as client:
        pid = worker_pid(client)
    assert pid not in {r.get("pid") for r in state.load_all()}
    assert pid not in {r.get("pid") for r in state.running()}


def test_spawned_workers_never_see_the_keys_and_read_their_token_from_a_private_file(
        spawned: gateways.Gateway) -> None:
    code = ("import os, stat\npath = os.environ.get('BLENDER_HTTP_TOKEN_FILE')\n"
            "(dict(os.environ), path and stat.S_IMODE(os.stat(path).st_mode))")
    with spawned.client() as client:
        answer = client.post("/exec", content=code)
        assert answer.status_code == 200, answer.text
        env, mode = answer.json()["result"]
    assert not any(KEY in value or FILE_KEY in value for value in env.values()), env
    for name in ("BLENDER_HTTP_API_KEYS", "BLENDER_HTTP_API_KEYS_FILE", "BLENDER_HTTP_TOKEN"):
        assert name not in env
    assert mode == 0o600
    # The worker's own settings still reach it.
    assert env["BLENDER_HTTP_MAX_QUEUE"] == "7"


WORKER_FILES = ("import os, tempfile\nopen(os.path.join(tempfile.gettempdir(), 'left.txt'), 'w').close()\n"
                "[tempfile.gettempdir(), WORKDIR]")


def test_sigkill_mid_job_is_502_at_once_then_the_worker_is_back(spawned: gateways.Gateway) -> None:
    with spawned.client() as client:
        pid = worker_pid(client)
        # The worker's temporary folder is its own, and a killed worker's goes with it.
        temp, workdir = client.post("/exec", content=WORKER_FILES).json()["result"]
        assert os.path.basename(temp) == "spawn-0.tmp" and workdir.startswith(temp + os.sep)
        assert os.path.isfile(os.path.join(temp, "left.txt")) and os.path.isdir(workdir)
        outcome: dict[str, object] = {}

        def long_exec() -> None:
            try:
                # The code would run for a minute: only the worker's death can end it sooner.
                outcome["answer"] = client.post("/exec", content="import time\ntime.sleep(60)",
                                                timeout=30.0)
            except httpx.HTTPError as exc:
                outcome["error"] = exc
            outcome["ended"] = time.monotonic()

        thread = threading.Thread(target=long_exec)
        thread.start()
        while not client.get("/health").json()["backends"][0]["inflight"]:
            time.sleep(0.01)
        time.sleep(0.2)  # the code is running now
        killed_at = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        thread.join(30)
        answer = outcome.get("answer")
        assert isinstance(answer, httpx.Response), outcome
        assert answer.status_code == 502
        assert answer.json()["error"]["type"] == "BackendDied"
        assert "spawn-0" in answer.json()["error"]["message"]
        print(f"502 after SIGKILL in {(float(outcome['ended']) - killed_at) * 1000:.0f} ms")  # type: ignore[arg-type]

        recovered = None
        deadline = time.monotonic() + RECOVERY_DEADLINE_S
        while time.monotonic() < deadline:
            answer = client.post("/exec", content="6 * 7")
            if answer.status_code == 200:
                recovered = time.monotonic()
                break
            assert answer.status_code in (502, 503), answer.text
            time.sleep(0.05)
        assert recovered is not None, spawned.log_text()[-3000:]
        print(f"next request succeeded {(recovered - killed_at):.2f} s after SIGKILL")
        assert answer.json()["result"] == 42
        assert not os.path.exists(os.path.join(temp, "left.txt")) and not os.path.exists(workdir)
        assert worker_pid(client) != pid
        assert not alive(pid)
        metrics = client.get("/metrics").text
        assert 'blender_http_gateway_worker_restarts_total{worker="spawn-0"} 1.0' in metrics


def test_a_job_that_ignores_its_timeout_gets_its_worker_restarted(spawned: gateways.Gateway) -> None:
    with spawned.client() as client:
        recover(client)
        pid = worker_pid(client)
        # One C call that never looks at signals (about 45 s of pbkdf2, the GIL released)
        # ignores the interrupt the worker sends at the timeout.
        code = "import hashlib\nhashlib.pbkdf2_hmac('sha256', b'x', b'y', 200_000_000)"
        job = client.post("/jobs", json={"code": code, "timeout": 2}).json()["id"]
        answer = client.get(f"/jobs/{job}", params={"wait": 40}, timeout=60.0)
        assert answer.status_code == 504, (answer.text, spawned.log_text()[-3000:])
        error = answer.json()["error"]
        assert error["type"] == "Timeout"
        assert "restarted" in error["message"] and "past its timeout" in error["message"], error
        recover(client)
        assert worker_pid(client) != pid
        assert not alive(pid)


def test_an_event_stream_on_a_killed_worker_ends_with_an_error_event(spawned: gateways.Gateway) -> None:
    with spawned.client() as client:
        recover(client)
        pid = worker_pid(client)
        job = client.post("/jobs", content="import time\nprint('started', flush=True)\ntime.sleep(60)"
                          ).json()["id"]
        lines = []
        with client.stream("GET", f"/jobs/{job}/events", timeout=30.0) as events:
            for line in events.iter_lines():
                lines.append(line)
                if line.startswith("event: stdout"):
                    os.kill(pid, signal.SIGKILL)
        assert "event: error" in lines, lines
        error = json.loads(lines[lines.index("event: error") + 1].removeprefix("data: "))
        assert error["error"]["type"] == "BackendDied"
        recover(client)


def recover(client: httpx.Client) -> None:
    """Wait until the spawned worker answers again (after a kill)."""
    deadline = time.monotonic() + RECOVERY_DEADLINE_S
    while time.monotonic() < deadline:
        if client.post("/exec", content="1").status_code == 200:
            return
        time.sleep(0.05)
    pytest.fail("the worker did not come back")


def test_stopping_the_gateway_stops_its_workers(tmp_path_factory: pytest.TempPathFactory) -> None:
    _needs_module_mode()
    running = gateways.start(tmp_path_factory.mktemp("spawn-stop"), "--spawn", "2", key=KEY)
    with running.client() as client:
        pids = [int(b["pid"]) for b in client.get("/health").json()["backends"]]
    assert len(pids) == 2 and all(alive(pid) for pid in pids)
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status tells it.
    assert running.stop() in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in running.log_text()
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in pids)


def test_spawned_background_workers_run_a_blender_executable(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    reason = servers.availability("background")
    if reason:
        missing(reason)
    running = gateways.start(tmp_path_factory.mktemp("spawn-bg"), "--spawn", "1", "--mode", "background",
                             key=KEY)
    try:
        with running.client() as client:
            backend = client.get("/health").json()["backends"][0]
            assert backend["mode"] == "background"
            answer = client.post("/exec", content="import bpy\n(bpy.app.background, bpy.app.binary_path)")
            assert answer.status_code == 200, answer.text
            background, binary = answer.json()["result"]
            assert background is True
            assert binary.endswith("blender")
    finally:
        running.stop()
