"""The workers behind the gateway: who they are, whether they answer, how loaded they are."""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import json
import logging
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from blender_http_addon.protocol import HEALTH, JOBS

from ..forwarding.wire import upstream
from ..metrics import Metrics
from . import progress, stuck

log = logging.getLogger("blender_http_gateway.backends")

# Refused health checks in a row before a backend counts as lost (its requests end with 502).
LOST_AFTER_FAILURES = 2
# A backend that accepts connections but does not answer /health (a long C call can hold
# Python's lock) is only unhealthy; lost once it has been silent this long, unless it is a
# spawned worker: the stuck rule watches its process, and replaces it if it hangs.
LOST_AFTER_SILENT_S = 60.0
HEALTH_TIMEOUT_S = 2.0
# A worker answering 503 has its health checked at once (check_soon), at most this often:
# a full queue answers 503 to every request while it lasts.
RECHECK_AFTER_S = 0.1
HEALTH_ERRORS: tuple[type[BaseException], ...] = (*upstream.CONNECT_ERRORS, *upstream.TRANSPORT_ERRORS,
                                                  TimeoutError, ValueError)
STOPPING = "stopping"


@dataclasses.dataclass(frozen=True)
class Loss:
    """Why a worker was lost; stuck: the gateway killed it for a job that would not stop."""

    reason: str
    stuck: bool = False


@dataclasses.dataclass(eq=False)
class Backend:
    """One worker. `key` is its stable identity (the URL, or "spawn-N" for a spawned worker
    whose port changes on restart); sessions hash on it and job ids carry it."""

    key: str
    url: str | None
    healthy: bool = False
    busy: bool = False
    queued: int = 0
    # The worker's queue bound, from its /health: what clients may keep in flight there.
    max_queue: int = 0
    mode: str | None = None
    blender: str | None = None
    # Requests this gateway has open to the worker that keep it busy.
    inflight: int = 0
    failures: int = 0
    silent_since: float | None = None
    # The process id of a spawned worker.
    pid: int | None = None
    last_error: str | None = None
    # Its /health says "stopping": it finishes what it has (job routes still reach it), takes
    # nothing new, and is not lost for it.
    stopping: bool = False
    # Its address left DNS (scaled in) while requests were open on it: they finish, nothing
    # new is sent, and it is dropped once they have.
    left_dns: bool = False
    # When the gateway first saw its running job asked to stop (timeout, cancel), and that job.
    overdue_since: float | None = None
    overdue_job: str | None = None
    # Why it is routed around although it answers (a job that will not stop), or None.
    stuck: str | None = None
    # How long its process has used no CPU while it does not answer (spawned workers).
    stall: progress.Stall = dataclasses.field(default_factory=progress.Stall)
    # Resolved when the worker is lost; requests waiting on it end at once.
    _lost: asyncio.Future[Loss] | None = dataclasses.field(default=None, repr=False)

    @property
    def load(self) -> int:
        # Our own open requests are known at once; busy/queued also show other gateways' work.
        return max(self.inflight, int(self.busy) + self.queued)

    @property
    def running(self) -> int:
        """Jobs it runs now: Blender runs one at a time, on its main thread."""
        return min(self.load, 1)

    @property
    def waiting(self) -> int:
        """Work sent to it that waits for the running job to end."""
        return self.load - self.running

    def view(self) -> dict[str, Any]:
        return {"key": self.key, "url": self.url, "healthy": self.healthy, "busy": self.busy,
                "queued": self.queued, "max_queue": self.max_queue, "inflight": self.inflight,
                "waiting": self.waiting, "running": self.running,
                "mode": self.mode, "blender": self.blender, "pid": self.pid, "stopping": self.stopping,
                "error": None if self.healthy else self.last_error}

    def lost(self) -> asyncio.Future[Loss]:
        """A future that resolves (with the reason) when this worker is lost."""
        if self._lost is None:
            self._lost = asyncio.get_running_loop().create_future()
        return self._lost

    def mark_up(self, url: str) -> None:
        """A (re)started worker now listens at url."""
        self.url = url
        self.failures = 0
        self.stopping, self.stuck, self.overdue_since, self.overdue_job = False, None, None, None
        self.silent_since = None
        self.stall.reset()
        self.revive()

    def revive(self) -> None:
        if self._lost is not None and self._lost.done():
            self._lost = None

    def mark_lost(self, reason: str, *, stuck: bool = False) -> None:
        """The worker is gone: fail every request waiting on it."""
        self.healthy = False
        self.busy, self.queued = False, 0
        if self._lost is None:
            self._lost = asyncio.get_running_loop().create_future()
        if not self._lost.done():
            self.last_error = reason
            self._lost.set_result(Loss(reason, stuck))


class BackendPool:
    """Static, DNS-expanded and spawned backends, kept fresh by health checks."""

    def __init__(self, *, urls: Iterable[str], token: str | None, health_interval: float,
                 dns_interval: float, metrics: Metrics, kill_after: float) -> None:
        self.urls = tuple(urls)
        self.backends: dict[str, Backend] = {}
        # Set by the gateway once the event loop runs (its connections belong to the loop).
        self.client: upstream.Upstream | None = None
        self._auth = [(b"authorization", f"Bearer {token}".encode())] if token else []
        self._health_interval = health_interval
        self._dns_interval = dns_interval
        self._tasks: list[asyncio.Task[None]] = []
        # Checks asked for out of turn (check_soon), held until done; when each last ended.
        self._soon: dict[Backend, asyncio.Task[None]] = {}
        self._checked_soon: dict[Backend, float] = {}
        self._metrics = metrics
        # The addresses each configured URL last resolved to.
        self._expanded: dict[str, list[str]] = {}
        # Seconds past a job's timeout (or of silence while busy) before a worker counts as stuck.
        self.kill_after = kill_after
        # Set by the supervisor: kills and restarts a stuck worker it spawned (True), else False.
        self.replace: Callable[[Backend, str], bool] | None = None

    # -- membership ----------------------------------------------------------------

    def add(self, backend: Backend) -> Backend:
        self.backends[backend.key] = backend
        self._metrics.track_inflight(backend.key, lambda: backend.inflight)
        self._metrics.track_work(backend.key, lambda: backend.waiting, lambda: backend.running)
        return backend

    def get(self, key: str) -> Backend | None:
        return self.backends.get(key)

    def all(self) -> list[Backend]:
        return list(self.backends.values())

    def healthy(self) -> list[Backend]:
        return [b for b in self.backends.values() if b.healthy]

    async def resolve(self) -> None:
        """Expand every configured URL into its current addresses; drop the vanished ones.
        A failed look-up keeps the last answer: a DNS hiccup must not move every session."""
        wanted: set[str] = set()
        for url in self.urls:
            try:
                self._expanded[url] = await expand(url)
            except OSError as exc:
                log.warning("cannot resolve %s (keeping the last answer): %s", url, exc)
            for expanded in self._expanded.get(url, [url]):
                wanted.add(expanded)
                if expanded in self.backends:
                    self.backends[expanded].left_dns = False
                else:
                    log.info("backend %s added", expanded)
                    self.add(Backend(key=expanded, url=expanded))
        for key in [k for k, b in self.backends.items() if b.key.startswith("http") and k not in wanted]:
            backend = self.backends[key]
            if backend.inflight:
                # Scaled in while it works: its callers get their answers (the worker drains on
                # SIGTERM); the next look-up after they have drops it.
                if not backend.left_dns:
                    log.info("backend %s left DNS: nothing new is sent, its %d open requests finish",
                             key, backend.inflight)
                backend.left_dns, backend.healthy = True, False
                continue
            log.info("backend %s no longer in DNS, removed", key)
            self.backends.pop(key).mark_lost("the backend left DNS")
            self._metrics.forget(key)

    # -- health --------------------------------------------------------------------

    async def check_all(self) -> None:
        await asyncio.gather(*(self.check(b) for b in self.all() if b.url))

    async def check(self, backend: Backend) -> None:
        url = backend.url
        status, data, error, silent = await self._probe(url or "", HEALTH)
        if error is None:
            state = data.get("status")
            error = None if state == "ok" else (
                f"/health says {state!r}" if status == 200 else f"/health answered {status}")
        if backend.url != url:
            return  # restarted meanwhile; the next round checks the new process
        self._update(backend, data, error, silent)
        running = await self._running_job(backend) if backend.busy and error is None else None
        if backend.url == url:
            stuck.watch(backend, running, self.kill_after, self.replace)
        self._metrics.backend_state(backend.key, backend.healthy, backend.queued, backend.busy)

    def check_soon(self, backend: Backend) -> asyncio.Task[None] | None:
        """check(backend) now, beside the caller: its task (the one running, if any), None
        when one ended less than RECHECK_AFTER_S ago (its word stands) or the backend has no
        address (a spawned worker starting again)."""
        task = self._soon.get(backend)
        if task is not None or not backend.url:
            return task
        if time.monotonic() - self._checked_soon.get(backend, float("-inf")) < RECHECK_AFTER_S:
            return None
        self._soon[backend] = task = asyncio.create_task(self.check(backend))

        def done(_: object) -> None:
            del self._soon[backend]
            self._checked_soon[backend] = time.monotonic()

        task.add_done_callback(done)
        return task

    async def _probe(self, url: str, path: str,
                     query: bytes = b"") -> tuple[int, dict[str, Any], str | None, bool]:
        """GET path on the backend at url: its status, its JSON object ({} if none), the
        transport error if any, and whether that error was silence (connected, no answer in time)."""
        assert self.client is not None, "the gateway sets the client before checking"
        data: Any = {}
        try:
            answer = await self.client.request(upstream.origin(url), "GET", path, query, self._auth,
                                               None, timeout=HEALTH_TIMEOUT_S)
            async with asyncio.timeout(HEALTH_TIMEOUT_S):
                content = await answer.read()
            status = answer.status
            if status == 200:
                data = json.loads(content)
        except HEALTH_ERRORS as exc:
            # Connected but no answer in time: busy (a long C operator), not necessarily gone.
            silent = isinstance(exc, TimeoutError)  # a connection not opened is a ConnectError
            return 0, {}, upstream.describe(exc), silent
        return status, data if isinstance(data, dict) else {}, None, False

    async def _running_job(self, backend: Backend) -> dict[str, Any] | None:
        """The job a busy worker runs, from its own list (it knows each job's timeout)."""
        status, data, _, _ = await self._probe(backend.url or "", JOBS, b"status=running&limit=1")
        jobs = data.get("jobs") if status == 200 else None
        return jobs[0] if isinstance(jobs, list) and jobs and isinstance(jobs[0], dict) else None

    def _update(self, backend: Backend, data: dict[str, Any], error: str | None, silent: bool) -> None:
        now = time.monotonic()
        if error is None or not silent:
            backend.silent_since = None
        elif backend.silent_since is None:
            backend.silent_since = now
        if error is None or data.get("status") == STOPPING:
            self._answered(backend, data)
            return
        backend.failures += 1
        backend.last_error = error
        if backend.healthy:
            log.warning("backend %s failed its health check: %s", backend.key, error)
        backend.healthy = False
        if backend.silent_since is not None:
            if backend.pid is None and now - backend.silent_since > LOST_AFTER_SILENT_S:
                backend.mark_lost(f"backend {backend.key} has not answered /health for "
                                  f"{now - backend.silent_since:.0f} s")
        elif backend.failures >= LOST_AFTER_FAILURES:
            backend.mark_lost(f"backend {backend.key} stopped answering: {error}")

    def _answered(self, backend: Backend, data: dict[str, Any]) -> None:
        """/health answered: ok, or stopping (no new requests, but not lost: its own finish)."""
        stopping = data.get("status") == STOPPING
        if stopping and not backend.stopping:
            log.info("backend %s is stopping: no new requests, the open ones finish", backend.key)
        elif not stopping and not backend.healthy and backend.stuck is None:
            log.info("backend %s is healthy", backend.key)
        backend.stopping, backend.failures = stopping, 0
        backend.healthy = not stopping and backend.stuck is None and not backend.left_dns
        backend.last_error = ("stopping: finishing its open requests" if stopping
                              else "left DNS: finishing its open requests" if backend.left_dns
                              else backend.stuck)
        backend.busy, backend.queued = bool(data.get("busy")), int(data.get("queued") or 0)
        backend.max_queue = int(data.get("max_queue") or backend.max_queue or 0)
        backend.mode = data.get("mode") or backend.mode
        backend.blender = data.get("blender") or backend.blender
        backend.revive()

    # -- background loops ------------------------------------------------------------

    async def start(self) -> None:
        """Resolve, check once (so the first request finds healthy backends), then keep at it."""
        await self.resolve()
        await self.check_all()
        self._tasks = [asyncio.create_task(self._every(self._health_interval, self.check_all)),
                       asyncio.create_task(self._every(self._dns_interval, self.resolve))]

    async def stop(self) -> None:
        tasks = [*self._tasks, *self._soon.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @staticmethod
    async def _every(seconds: float, action: Any) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await action()
            except Exception:  # a loop that dies would leave the pool stale forever
                log.exception("background %s failed", getattr(action, "__name__", action))


async def expand(url: str) -> list[str]:
    """url as one backend per address its host name resolves to (a headless Service's pods),
    a single address included.

    IP literals, `localhost` (127.0.0.1 and ::1 are one server) and https URLs (the
    certificate names the host, not the address) stay as given. OSError if the look-up fails."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" or host == "localhost" or _is_ip(host):
        return [url]
    port = parts.port or 80
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = sorted({str(info[4][0]) for info in infos})
    # One server reachable over both families is still one server: prefer IPv4.
    v4 = [a for a in addresses if ":" not in a]
    addresses = v4 or addresses
    # A single address is named by it too: when the name gains addresses (scaling up from
    # one worker), that worker stays the same backend, with the requests it has open.
    rest = parts.path.rstrip("/")
    return [f"{parts.scheme}://{_bracket(a)}:{port}{rest}" for a in addresses]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _bracket(address: str) -> str:
    return f"[{address}]" if ":" in address else address
