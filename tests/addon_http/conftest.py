"""Fixtures for the add-on's unit tests: no Blender, no bpy.

`make_server` starts a real Service on a free port with the blocking-mode pump
(MainLoop) on a thread standing in for Blender's main thread; jobs see a `gate` Event
(bound into every namespace) that a test sets to release code that waits on it.

Helpers are handed out as fixtures (`run`, `wait_until`, `raw`), never imported from
this file, so the tests work under any pytest import mode.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from blender_http_addon.config import Config
from blender_http_addon.jobs import job as jobs
from blender_http_addon.jobs.execution import Executor
from blender_http_addon.jobs.sessions import SessionStore
from blender_http_addon.jobs.work import code_job
from blender_http_addon.pumps.main_loop import MainLoop
from blender_http_addon.service import Service

# Every wait in these tests is bounded by this; never a timing assertion.
WAIT_S = 30.0


# -- executor -------------------------------------------------------------------------

@pytest.fixture
def executor(tmp_path: Path) -> Executor:
    """An executor with no extra bindings; WORKDIR is the test's tmp_path."""
    return Executor(bindings=dict, workdir=str(tmp_path), sessions=SessionStore())


@pytest.fixture
def run(executor: Executor) -> Callable[..., jobs.Job]:
    """run(code, **job_options): the finished Job, run by `executor` on a worker thread."""
    return lambda code, **options: run_job(executor, code, **options)


def run_job(executor: Executor, code: str, **job_options: Any) -> jobs.Job:
    """Run code through executor on a worker thread (a stand-in for the main thread)."""
    job = code_job(code, **job_options)
    worker = threading.Thread(target=executor.run, args=(job,), daemon=True)
    worker.start()
    worker.join(WAIT_S)
    assert job.done.is_set(), "the job did not finish"
    return job


@pytest.fixture(name="wait_until")
def wait_until_fixture() -> Callable[..., None]:
    """wait_until(predicate, what): poll until true, fail after WAIT_S."""
    return wait_until


def wait_until(predicate: Callable[[], object], what: str, timeout: float = WAIT_S) -> None:
    """Poll predicate until true; fail the test (not hang) after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@pytest.fixture(scope="session")
def _links_work(tmp_path_factory: pytest.TempPathFactory) -> bool:
    folder = tmp_path_factory.mktemp("links")
    try:
        (folder / "link").symlink_to(folder, target_is_directory=True)
    except OSError:  # Windows without the privilege (or developer mode)
        return False
    return (folder / "link").is_symlink()  # Wine's os.symlink succeeds and makes nothing


@pytest.fixture
def symlinks(_links_work: bool) -> None:
    """For tests that make symbolic links: skipped where none can be made."""
    if not _links_work:
        pytest.skip("symbolic links cannot be made here (Windows without the privilege, or Wine)")


# -- a running server -----------------------------------------------------------------

@dataclasses.dataclass
class RunningServer:
    service: Service
    pump: threading.Thread
    gate: threading.Event
    loop: MainLoop

    @property
    def port(self) -> int:
        return self.service.port

    @property
    def url(self) -> str:
        return self.service.url

    @property
    def host_header(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self, *, keepalive: bool = True, **options: Any) -> httpx.Client:
        """An httpx client; keepalive=False opens a new connection per request (for
        answers after which the server closes the connection without saying so)."""
        options.setdefault("timeout", WAIT_S)
        if not keepalive:
            options["limits"] = httpx.Limits(max_keepalive_connections=0)
        return httpx.Client(base_url=self.url, **options)

    def wait_busy(self) -> None:
        """Until the executor has registered a running job (so cancel can interrupt it)."""
        wait_until(lambda: self.service.executor.busy, "a running job")

    def assert_healthy(self) -> None:
        """GET /health on a new connection answers 200."""
        with self.client() as http:
            response = http.get("/health")
        assert response.status_code == 200, response.text
        assert response.json()["status"] in ("ok", "stopping")




@pytest.fixture
def gate() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture(scope="session")
def _stoppers() -> Iterator[list[threading.Thread]]:
    """Threads closing finished tests' servers; joined once at the end of the session.

    Service.stop() waits out serve_forever's 0.2 s poll; doing that in the background
    keeps each HTTP test from paying it."""
    threads: list[threading.Thread] = []
    yield threads
    for thread in threads:
        thread.join(WAIT_S)


@pytest.fixture
def make_server(tmp_path: Path, gate: threading.Event,
                _stoppers: list[threading.Thread]) -> Iterator[Callable[..., RunningServer]]:
    """A factory: make_server(**config_changes) starts a Service on a free loopback port."""
    servers: list[RunningServer] = []

    def make(**changes: Any) -> RunningServer:
        config = Config(port=0, workdir=str(tmp_path / f"work{len(servers)}"), **changes)
        service = Service(config, mode="module", blender_version="test",
                          bindings=lambda: {"gate": gate})
        service.start()
        # What pumps.run_blocking does on Blender's main thread, without signal handlers
        # (and without stop(): the fixture stops the service).
        loop = MainLoop(service)
        pump = threading.Thread(target=loop.run, name="test-pump", daemon=True)
        pump.start()
        server = RunningServer(service=service, pump=pump, gate=gate, loop=loop)
        servers.append(server)
        return server

    yield make
    gate.set()
    for server in servers:
        _end_jobs(server)
        stopper = threading.Thread(target=server.service.stop, kwargs={"grace": 2.0}, daemon=True)
        stopper.start()
        _stoppers.append(stopper)


def _end_jobs(server: RunningServer) -> None:
    """Refuse new jobs and stop the running one, so the pump returns."""
    service = server.service
    service.shutdown()
    deadline = time.monotonic() + WAIT_S
    while server.pump.is_alive() and time.monotonic() < deadline:
        for job in service.store.recent(service.config.job_retention):
            if not job.finished:
                service.cancel(job)
        server.pump.join(0.1)


@pytest.fixture
def server(make_server: Callable[..., RunningServer]) -> RunningServer:
    return make_server()


@pytest.fixture
def client(server: RunningServer) -> Iterator[httpx.Client]:
    with server.client() as http:
        yield http


# -- raw HTTP over a socket -----------------------------------------------------------

@dataclasses.dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


class RawConnection:
    """One TCP connection for requests httpx would not send (bad framing, stalls)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
        self.reader = self.sock.makefile("rb")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_response(self) -> RawResponse:
        status_line = self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection without an answer")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := self.reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = self.reader.read(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            body = b""
            while size := int(self.reader.readline().split(b";")[0], 16):
                body += self.reader.read(size)
                self.reader.readline()
            self.reader.readline()
        else:
            body = b""
        return RawResponse(status, headers, body)

    def close(self) -> None:
        self.reader.close()
        self.sock.close()

    def __enter__(self) -> RawConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def error_of(response: httpx.Response | RawResponse, status: int) -> dict[str, Any]:
    """The "error" object of an answer, after checking its status and the one JSON shape."""
    if isinstance(response, RawResponse):
        code, body = response.status, response.body
    else:
        code, body = response.status_code, response.content
    content_type = response.headers.get("content-type")
    assert code == status, body
    assert content_type == "application/json"
    document = json.loads(body)
    assert document["ok"] is False
    error = document["error"]
    assert isinstance(error["type"], str) and error["type"]
    assert isinstance(error["message"], str)
    return error


@pytest.fixture(name="error_of")
def error_of_fixture() -> Callable[[httpx.Response | RawResponse, int], dict[str, Any]]:
    """error_of(response, status): the checked "error" object of an error answer."""
    return error_of


@pytest.fixture
def raw() -> Iterator[Callable[[int], RawConnection]]:
    """raw(port): a RawConnection, closed at teardown."""
    opened: list[RawConnection] = []

    def connect(port: int) -> RawConnection:
        connection = RawConnection(port)
        opened.append(connection)
        return connection

    yield connect
    for connection in opened:
        connection.close()
