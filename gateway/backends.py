"""The workers behind the gateway: who they are, whether they answer, how loaded they are."""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import logging
import socket
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from . import upstream
from .metrics import Metrics

log = logging.getLogger("blender_http_gateway.backends")

# Refused health checks in a row before a backend counts as lost (its requests end with 502).
LOST_AFTER_FAILURES = 2
# A backend that accepts connections but does not answer /health (a long C operator can hold the
# GIL in module mode) is only unhealthy; lost once it has been silent this long.
LOST_AFTER_SILENT_S = 60.0
HEALTH_TIMEOUT_S = 2.0
HEALTH_ERRORS: tuple[type[BaseException], ...] = (*upstream.TRANSPORT_ERRORS, ValueError)


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
    # Resolved when the worker is lost; requests waiting on it end with 502 at once.
    _lost: asyncio.Future[str] | None = dataclasses.field(default=None, repr=False)

    @property
    def load(self) -> int:
        # Our own open requests are known at once; busy/queued also show other gateways' work.
        return max(self.inflight, int(self.busy) + self.queued)

    def view(self) -> dict[str, Any]:
        return {"key": self.key, "url": self.url, "healthy": self.healthy, "busy": self.busy,
                "queued": self.queued, "max_queue": self.max_queue, "inflight": self.inflight,
                "mode": self.mode, "blender": self.blender, "pid": self.pid,
                "error": None if self.healthy else self.last_error}

    def lost(self) -> asyncio.Future[str]:
        """A future that resolves (with the reason) when this worker is lost."""
        if self._lost is None:
            self._lost = asyncio.get_running_loop().create_future()
        return self._lost

    def mark_up(self, url: str) -> None:
        """A (re)started worker now listens at url."""
        self.url = url
        self.failures = 0
        self.revive()

    def revive(self) -> None:
        if self._lost is not None and self._lost.done():
            self._lost = None

    def mark_lost(self, reason: str) -> None:
        """The worker is gone: fail every request waiting on it."""
        self.healthy = False
        self.busy, self.queued = False, 0
        self.last_error = reason
        if self._lost is None:
            self._lost = asyncio.get_running_loop().create_future()
        if not self._lost.done():
            self._lost.set_result(reason)


class BackendPool:
    """Static, DNS-expanded and spawned backends, kept fresh by health checks."""

    def __init__(self, *, urls: Iterable[str], token: str | None, health_interval: float,
                 dns_interval: float, metrics: Metrics) -> None:
        self.urls = tuple(urls)
        self.backends: dict[str, Backend] = {}
        # Set by the gateway once the event loop runs (an aiohttp session belongs to its loop).
        self.session: aiohttp.ClientSession | None = None
        self._auth = {"Authorization": f"Bearer {token}"} if token else {}
        self._health_interval = health_interval
        self._dns_interval = dns_interval
        self._tasks: list[asyncio.Task[None]] = []
        self._metrics = metrics
        # The addresses each configured URL last resolved to.
        self._expanded: dict[str, list[str]] = {}

    # -- membership ----------------------------------------------------------------

    def add(self, backend: Backend) -> Backend:
        self.backends[backend.key] = backend
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
                if expanded not in self.backends:
                    log.info("backend %s added", expanded)
                    self.add(Backend(key=expanded, url=expanded))
        for key in [k for k, b in self.backends.items() if b.key.startswith("http") and k not in wanted]:
            log.info("backend %s no longer in DNS, removed", key)
            self.backends.pop(key).mark_lost("the backend left DNS")
            self._metrics.forget(key)

    # -- health --------------------------------------------------------------------

    async def check_all(self) -> None:
        await asyncio.gather(*(self.check(b) for b in self.all() if b.url))

    async def check(self, backend: Backend) -> None:
        url = backend.url
        assert self.session is not None, "the gateway sets the session before checking"
        silent = False
        data: dict[str, Any] = {}
        error: str | None
        try:
            async with self.session.get(f"{url}/health", headers=self._auth,
                                        timeout=aiohttp.ClientTimeout(total=HEALTH_TIMEOUT_S)) as answer:
                status = answer.status
                if status == 200:
                    data = await upstream.read_json(answer)
        except HEALTH_ERRORS as exc:
            error = upstream.describe(exc)
            # Connected but no answer in time: busy (a long C operator), not necessarily gone.
            silent = isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)) and not isinstance(
                exc, aiohttp.ConnectionTimeoutError)
        else:
            state = data.get("status") if isinstance(data, dict) else None
            error = None if state == "ok" else (
                f"/health says {state!r}" if status == 200 else f"/health answered {status}")
        if backend.url != url:
            return  # restarted meanwhile; the next round checks the new process
        self._update(backend, data, error, silent)
        self._metrics.backend_state(backend.key, backend.healthy, backend.queued, backend.busy)

    def _update(self, backend: Backend, data: dict[str, Any], error: str | None, silent: bool) -> None:
        now = time.monotonic()
        if error is None or not silent:
            backend.silent_since = None
        elif backend.silent_since is None:
            backend.silent_since = now
        if error is None:
            if not backend.healthy:
                log.info("backend %s is healthy", backend.key)
            backend.healthy, backend.failures, backend.last_error = True, 0, None
            backend.busy, backend.queued = bool(data.get("busy")), int(data.get("queued") or 0)
            backend.mode, backend.blender = data.get("mode"), data.get("blender")
            backend.max_queue = int(data.get("max_queue") or 0)
            backend.revive()
            return
        backend.failures += 1
        backend.last_error = error
        if backend.healthy:
            log.warning("backend %s failed its health check: %s", backend.key, error)
        backend.healthy = False
        if backend.silent_since is not None:
            if now - backend.silent_since > LOST_AFTER_SILENT_S:
                backend.mark_lost(f"backend {backend.key} has not answered /health for "
                                  f"{now - backend.silent_since:.0f} s")
        elif backend.failures >= LOST_AFTER_FAILURES:
            backend.mark_lost(f"backend {backend.key} stopped answering: {error}")

    # -- background loops ------------------------------------------------------------

    async def start(self) -> None:
        """Resolve, check once (so the first request finds healthy backends), then keep at it."""
        await self.resolve()
        await self.check_all()
        self._tasks = [asyncio.create_task(self._every(self._health_interval, self.check_all)),
                       asyncio.create_task(self._every(self._dns_interval, self.resolve))]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @staticmethod
    async def _every(seconds: float, action: Any) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await action()
            except Exception:  # a loop that dies would leave the pool stale forever
                log.exception("background %s failed", getattr(action, "__name__", action))


async def expand(url: str) -> list[str]:
    """url as one backend per address its host name resolves to (a headless Service's pods).

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
    if len(addresses) <= 1:
        return [url]
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
