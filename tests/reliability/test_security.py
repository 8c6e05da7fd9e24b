"""Who may run code, against real servers (SPEC 3.6): foreign Host (DNS rebinding),
foreign Origin, missing or wrong token; no start beyond loopback without a token; the
token compared in constant time and never written to the log.

The Guard's rules one by one are unit-tested in tests/addon_http/test_security.py; here
a refused request must also leave no trace of its code having run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from blender_http.local.launcher import launch_script
from blender_http_addon.api import guard as security
from blender_http_addon.config import Config
from blender_http_addon.errors import HttpError
from tests.blender import servers
from tests.conftest import missing

from .conftest import Raw, assert_error, start_server

TOKEN = "right-token-4f1c9a7e"
WRONG = "wrong-token-b83d2e60"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Running]:
    running = start_server("module", tmp_path_factory.mktemp("guarded"), BLENDER_HTTP_TOKEN=TOKEN)
    yield running
    running.stop()


def _marker_code(name: str) -> bytes:
    return f"open(WORKDIR + '/{name}', 'w').close()\n'ran'".encode()


def _files(running: servers.Running) -> list[str]:
    with running.client() as client:
        return [f["path"] for f in client.get("/files").json()["files"]]


REFUSED = {
    "foreign Host (DNS rebinding)": (("Host: attacker.example:{port}", "Authorization: Bearer " + TOKEN),
                                     403),
    "LAN address as Host": (("Host: 192.168.1.20:{port}", "Authorization: Bearer " + TOKEN), 403),
    "loopback name, other port": (("Host: localhost:1", "Authorization: Bearer " + TOKEN), 403),
    # RFC 9112 3.2: an HTTP/1.1 request without Host is malformed.
    "no Host": (("Authorization: Bearer " + TOKEN,), 400),
    "foreign Origin": (("Host: 127.0.0.1:{port}", "Origin: http://attacker.example",
                        "Authorization: Bearer " + TOKEN), 403),
    "null Origin (sandboxed frame)": (("Host: 127.0.0.1:{port}", "Origin: null",
                                       "Authorization: Bearer " + TOKEN), 403),
    "cross-site fetch without Origin": (("Host: 127.0.0.1:{port}", "Sec-Fetch-Site: cross-site",
                                         "Authorization: Bearer " + TOKEN), 403),
    "no token": (("Host: 127.0.0.1:{port}",), 401),
    "wrong token": (("Host: 127.0.0.1:{port}", "Authorization: Bearer " + WRONG), 401),
    "right token, other scheme": (("Host: 127.0.0.1:{port}", "Authorization: Basic " + TOKEN), 401),
    "a prefix of the token": (("Host: 127.0.0.1:{port}", "Authorization: Bearer " + TOKEN[:-1]), 401),
    "two Authorization headers": (("Host: 127.0.0.1:{port}", "Authorization: Bearer " + WRONG,
                                   "Authorization: Bearer " + TOKEN), 400),
}


@pytest.mark.parametrize("case", REFUSED.values(), ids=REFUSED.keys())
def test_refused_requests_never_run_their_code(guarded: servers.Running, raw: Callable[..., Raw],
                                               case: tuple[tuple[str, ...], int]) -> None:
    headers, status = case
    connection = raw(guarded.url)
    port = connection.host_header.rpartition(":")[2]
    code = _marker_code("refused")
    head = [h.replace("{port}", port) for h in headers]
    request = "\r\n".join(["POST /exec HTTP/1.1", *head, "Content-Type: text/plain",
                           f"Content-Length: {len(code)}"]) + "\r\n\r\n"
    connection.send(request.encode() + code)
    answer = connection.read_answer()
    assert_error(answer, status)
    assert answer is not None and "access-control-allow-origin" not in answer.headers
    assert "refused" not in _files(guarded)


def test_the_right_token_runs_code_and_health_needs_none(guarded: servers.Running) -> None:
    with guarded.client() as client:
        assert client.post("/exec", content=_marker_code("allowed")).json()["result"] == "ran"
    assert "allowed" in _files(guarded)
    # Probes need neither a token nor this server's name.
    health = httpx.get(guarded.url + "/health", headers={"Host": "probe.internal"})
    assert health.status_code == 200
    for path in ("/jobs", "/sessions", "/files", "/files/allowed"):
        assert httpx.get(guarded.url + path).status_code == 401
    assert httpx.post(guarded.url + "/shutdown").status_code == 401
    assert httpx.get(guarded.url + "/health").json()["status"] == "ok"


def test_the_token_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # A timing measurement would be noise on a shared machine; what makes the check
    # constant-time is that every presented token goes through hmac.compare_digest.
    compared: list[tuple[bytes, bytes]] = []
    real = security.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(security.hmac, "compare_digest", spy)
    guard = security.Guard(Config(token=TOKEN), 7777)
    guard.check_token("Bearer " + TOKEN)
    for given in (WRONG, TOKEN[:-1], TOKEN + "x", "r"):
        with pytest.raises(HttpError):
            guard.check_token("Bearer " + given)
    assert compared == [(t.encode(), TOKEN.encode()) for t in (TOKEN, WRONG, TOKEN[:-1], TOKEN + "x", "r")]


DEBUG_LOGGING = "import logging; logging.basicConfig(level=logging.DEBUG)"


def _debug_command(mode: str) -> list[str]:
    if mode == "module":
        return [sys.executable, "-c", DEBUG_LOGGING + "; from blender_http.cli import main; main()",
                "serve", "--port", "0", "--log-level", "debug"]
    return ["blender", "--background", "--factory-startup", "--python-expr", DEBUG_LOGGING,
            "--python", str(launch_script())]


@pytest.mark.parametrize("mode", ["module", "background"])
def test_tokens_never_reach_the_log(mode: str, tmp_path: Path, raw: Callable[..., Raw]) -> None:
    reason = servers.availability(mode)
    if reason:
        missing(reason)
    running = servers.start(mode, tmp_path, env={"BLENDER_HTTP_TOKEN": TOKEN}, cmd=_debug_command(mode))
    try:
        with running.client() as client:
            assert client.post("/exec", content=b"print('job output')\n1").json()["result"] == 1
            assert client.get("/nope").status_code == 404
        anonymous = httpx.Client(base_url=running.url)
        with anonymous:
            for authorization in (f"Bearer {WRONG}", f"Basic {WRONG}", WRONG, f"Bearer {TOKEN} {WRONG}"):
                refused = anonymous.post("/exec", content=b"1", headers={"Authorization": authorization})
                assert refused.status_code == 401
                assert WRONG not in refused.text and TOKEN not in refused.text
        connection = raw(running.url)  # a malformed line carrying the token is refused too
        connection.send(f"GET /jobs HTTP/1.1\r\nHost: {connection.host_header}\r\n"
                        f"Authorization : Bearer {TOKEN}\r\n\r\n".encode())
        assert_error(connection.read_answer(), 400)
    finally:
        assert running.stop() == 0
    log = running.log_text()
    assert "POST /exec" in log  # debug logging was on: requests were logged
    assert TOKEN not in log and WRONG not in log


@pytest.mark.parametrize(("mode", "how"), [
    ("module", ["serve", "--host", "::", "--port", "0"]),
    ("module", ["serve", "--host", "0.0.0.0", "--token", "   ", "--port", "0"]),
    ("background", ["start", "--background", "--factory-startup", "--host", "0.0.0.0", "--port", "0"]),
    ("gui", {"BLENDER_HTTP_HOST": "0.0.0.0"}),
], ids=["module, ::", "module, blank token", "background through the CLI", "gui"])
def test_no_start_beyond_loopback_without_a_token(mode: str, how: list[str] | dict[str, str],
                                                  tmp_path: Path) -> None:
    reason = servers.availability(mode)
    if reason:
        missing(reason)
    env = {k: v for k, v in os.environ.items() if k != "BLENDER_HTTP_TOKEN"}
    env["BLENDER_HTTP_STATE_DIR"] = str(tmp_path)
    ready = tmp_path / "ready.json"
    if isinstance(how, dict):
        command = servers.command(mode, ready)
        env.update(how, BLENDER_HTTP_PORT="0", BLENDER_HTTP_READY_FILE=str(ready))
    else:
        command = [sys.executable, "-m", "blender_http", *how]
    done = subprocess.run(command, env=env, capture_output=True, timeout=120)
    output = (done.stdout + done.stderr).decode(errors="replace")
    assert done.returncode == 2, output
    assert "without a token" in output or "token is empty" in output, output
    assert not ready.exists()
