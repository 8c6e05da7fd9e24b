"""The seed corpus and generated requests against real servers (module mode and
`blender -b`), each on a kept-alive connection that the main loop has parked: each gets
an answer or a closed connection within the request deadline, and a bystander's
`POST /exec` on another parked connection is never held up by it.

The bystander bound is the one the issue states: each bystander exec, sent once the
server has taken the bad request (TAKEN_S after it), ends at most 100 ms later than the
bystander's own median round trip on this server. The stall this catches (issue 16: the
main thread blocked reading a client's socket) lasts until the request timeout, here
2 s, so it shows as a delay of most of that, and the exec right after it is fast again.
A busy 2-core machine adds hiccups of tens of ms, once in a while of hundreds (seen:
558 ms at a load average of 10), that do not repeat. So a sample over the bound fails
at once when it is over half the request timeout (a stall), and otherwise when the exec
taken right after it is over the bound too.
"""

from __future__ import annotations

import os
import socket
import statistics
import threading
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings

from tests.blender import servers
from tests.conftest import missing

from .corpus import Seed, load
from .strategies import requests

pytestmark = pytest.mark.blender

REQUEST_TIMEOUT = 2.0
# Beyond the request timeout: answering, closing, and a loaded machine.
SLACK = 5.0
STALL_BOUND = 0.100
# Time for the server to read what the bad request sent before the bystander's exec.
TAKEN_S = 0.05
TRICKLE_GAP = 0.25
BLACKBOX_EXAMPLES = int(os.environ.get("BLENDER_HTTP_FUZZ_BLACKBOX_EXAMPLES", 40))
SEEDS = load()


class Peer:
    """A raw kept-alive connection, parked by the server's main loop after one answer."""

    def __init__(self, url: str) -> None:
        host, _, port = url.removeprefix("http://").partition(":")
        self.host = f"{host}:{port}"
        self.sock = socket.create_connection((host, int(port)), timeout=REQUEST_TIMEOUT + SLACK)
        self.buffer = b""
        self.send(b"GET /health HTTP/1.1\r\nHost: %s\r\n\r\n" % self.host.encode())
        assert self.status() == 200

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def status(self, *, body: bool = True) -> int | None:
        """The next answer's status (its body read too when body), None once closed."""
        while b"\r\n\r\n" not in self.buffer:
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                return None
            if not data:
                return None
            self.buffer += data
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        while body and len(self.buffer) < length:
            data = self.sock.recv(65536)
            assert data, "closed inside an answer"
            self.buffer += data
        self.buffer = self.buffer[length:] if body else b""
        return status

    def close(self) -> None:
        self.sock.close()


class Bystander:
    """Times `POST /exec` on its own parked connection."""

    def __init__(self, url: str) -> None:
        self.peer = Peer(url)
        self.request = (b"POST /exec HTTP/1.1\r\nHost: %s\r\nContent-Length: 5\r\n\r\n1+2+3"
                        % self.peer.host.encode())
        self.baseline = statistics.median(self.exec() for _ in range(20))
        self.samples: list[float] = []
        # (delay, the next exec's delay) of each sample over the bound.
        self.retaken: list[tuple[float, float]] = []

    def exec(self) -> float:
        started = time.perf_counter()
        self.peer.send(self.request)
        assert self.peer.status() == 200
        return time.perf_counter() - started

    def check(self, what: str) -> None:
        """One exec, not delayed past the bound (see the module's doc)."""
        delay = self.exec() - self.baseline
        self.samples.append(delay)
        if delay <= STALL_BOUND:
            return
        message = f"a bystander's exec waited {delay * 1e3:.0f} ms more during {what}"
        assert delay < REQUEST_TIMEOUT / 2, message
        again = self.exec() - self.baseline
        self.retaken.append((delay, again))
        assert again <= STALL_BOUND, f"{message}, and {again * 1e3:.0f} ms the next time"

    def summary(self) -> str:
        ordered = sorted(self.samples)
        return (f"bystander: baseline {self.baseline * 1e3:.2f} ms; delay over {len(ordered)} samples "
                f"p50 {statistics.median(ordered) * 1e3:.2f} ms, max {ordered[-1] * 1e3:.1f} ms; "
                f"over the bound, then retaken (ms): "
                f"{[(round(a * 1e3), round(b * 1e3)) for a, b in self.retaken]}")


@pytest.fixture(scope="module", params=["module", "background"])
def running(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Running]:
    mode = request.param
    reason = servers.availability(mode)
    if reason:
        missing(reason)
    started = servers.start(mode, tmp_path_factory.mktemp(mode),
                            env={"BLENDER_HTTP_REQUEST_TIMEOUT": str(REQUEST_TIMEOUT)})
    yield started
    started.stop()


@pytest.fixture(scope="module")
def bystander(running: servers.Running) -> Iterator[Bystander]:
    watcher = Bystander(running.url)
    yield watcher
    print(f"\n{running.mode}: {watcher.summary()}")
    watcher.peer.close()


def _trickle(peer: Peer, data: bytes) -> threading.Thread:
    def send() -> None:
        for byte in data:
            try:
                peer.send(bytes([byte]))
            except OSError:  # answered (408) and closed: the point of the test
                return
            time.sleep(TRICKLE_GAP)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("seed", SEEDS, ids=[seed.name for seed in SEEDS])
def test_seed_is_answered_in_time_and_holds_nobody_up(running: servers.Running, bystander: Bystander,
                                                     seed: Seed) -> None:
    peer = Peer(running.url)
    try:
        pieces = seed.for_host(peer.host)
        if seed.kind == "expect":
            peer.send(pieces[0])
            assert peer.status() == 100  # at once: no body is sent before it
            time.sleep(TAKEN_S)
            bystander.check(seed.name)
            peer.send(pieces[1])
            assert peer.status() == seed.status
            return
        if seed.kind == "whole":
            peer.send(b"".join(pieces))
            time.sleep(TAKEN_S)
            bystander.check(seed.name)
        else:
            if seed.kind == "trickle body":
                peer.send(pieces[0])
            trickling = _trickle(peer, pieces[-1])
            while trickling.is_alive():
                time.sleep(TAKEN_S)
                bystander.check(seed.name)
        assert peer.status() == seed.status
    finally:
        peer.close()
    bystander.check(seed.name + " (after)")


@settings(max_examples=BLACKBOX_EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(data=requests().filter(bool))  # no byte sent is no request (the idle timeout)
def test_generated_request_is_answered_or_closed_in_time(running: servers.Running, bystander: Bystander,
                                                         data: bytes) -> None:
    peer = Peer(running.url)
    try:
        started = time.monotonic()
        try:
            peer.send(data)
        except OSError:  # refused and closed before all of a huge head went out
            pass
        time.sleep(TAKEN_S)
        bystander.check(f"{data[:80]!r}")
        try:
            peer.status(body=False)  # an answer, or None for a close
        except TimeoutError:
            pytest.fail(f"neither answered nor closed within {REQUEST_TIMEOUT + SLACK:g} s: {data[:200]!r}")
        assert time.monotonic() - started < REQUEST_TIMEOUT + SLACK
    finally:
        peer.close()
