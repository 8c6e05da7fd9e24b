"""Fixtures for the reliability suite: real servers (tests/blender/servers.py), raw
sockets for requests no HTTP client would send, and process facts read from /proc.

Every wait is bounded (WAIT_S); nothing asserts a duration.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.blender import servers
from tests.conftest import missing

WAIT_S = 30.0


def start_server(mode: str, folder: Path, **env: str) -> servers.Running:
    """A real server in mode, or the missing() verdict when this machine lacks it."""
    reason = servers.availability(mode)
    if reason:
        missing(reason)
    return servers.start(mode, folder, env=env)


@pytest.fixture(scope="module")
def module_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Running]:
    """One module-mode server (Blender as a Python module) shared by a test file.

    A short request timeout lets the slow-client tests see it fire."""
    running = start_server("module", tmp_path_factory.mktemp("module"),
                           BLENDER_HTTP_REQUEST_TIMEOUT="1")
    yield running
    running.stop()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Callable[..., servers.Running]]:
    """own_server(mode, **env): a server this test alone uses; stopped (or killed) after."""
    started: list[servers.Running] = []

    def start(mode: str, **env: str) -> servers.Running:
        running = start_server(mode, tmp_path / f"{mode}-{len(started)}", **env)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


# The one test here that needs no Blender; every other one starts a real server.
WITHOUT_BLENDER = frozenset({"test_the_token_is_compared_in_constant_time"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        name = getattr(item, "originalname", item.name)
        if "tests/reliability" in str(item.fspath) and name not in WITHOUT_BLENDER:
            item.add_marker(pytest.mark.blender)


# -- process facts ----------------------------------------------------------------------

def rss_kib(pid: int) -> int:
    """VmRSS of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def processes_in_group(pgid: int) -> list[int]:
    """Live (not zombie) processes whose process group is pgid."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the command name, which is in parentheses and may hold spaces.
        fields = stat[stat.rindex(")") + 2:].split()
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            found.append(int(entry.name))
    return found


# -- raw HTTP ---------------------------------------------------------------------------

@dataclasses.dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Raw:
    """One TCP connection to a server, for bytes an HTTP client would refuse to send."""

    def __init__(self, url: str, timeout: float = WAIT_S) -> None:
        host, port = httpx.URL(url).host, httpx.URL(url).port
        assert port is not None
        self.host_header = f"{host}:{port}"
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self._buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def request(self, method: str, path: str, *headers: str, body: bytes = b"") -> bytes:
        """The bytes of a well-formed request with a Host and Content-Length of body."""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host_header}", *headers]
        if body or method in ("POST", "PUT"):
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self._buffer += data
        return bool(data)

    def read_answer(self) -> Answer | None:
        """The next answer, or None when the server closed the connection without one."""
        while b"\r\n\r\n" not in self._buffer:
            if not self._fill():
                assert not self._buffer, f"the connection closed inside an answer: {self._buffer!r}"
                return None
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self._buffer) < length:
            if not self._fill():
                raise AssertionError("the connection closed inside an answer's body")
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        return Answer(int(status_line.split()[1]), headers, body)

    def closed_by_server(self) -> bool:
        """True once the server has closed its end (reads end of stream or a reset)."""
        try:
            while self._fill():
                pass
        except ConnectionResetError:
            pass
        return True

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def raw() -> Iterator[Callable[..., Raw]]:
    """raw(url, timeout=WAIT_S): a Raw connection, closed at teardown."""
    opened: list[Raw] = []

    def connect(url: str, timeout: float = WAIT_S) -> Raw:
        connection = Raw(url, timeout)
        opened.append(connection)
        return connection

    yield connect
    for connection in opened:
        connection.close()


def assert_error(answer: Answer | None, status: int) -> dict[str, Any]:
    """The error object of an answer in the one JSON error shape, with status."""
    assert answer is not None, f"expected {status}, the server closed the connection"
    assert answer.status == status, answer
    assert answer.headers.get("content-type") == "application/json"
    document = answer.json()
    assert document["ok"] is False and document["error"]["type"] and document["error"]["message"]
    return dict(document["error"])


def assert_healthy(running: servers.Running) -> None:
    """GET /health on a new connection answers 200 and an exec still runs."""
    with running.client() as client:
        assert client.get("/health").status_code == 200
        assert client.post("/exec", content=b"'alive'").json()["result"] == "alive"


def server_pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
