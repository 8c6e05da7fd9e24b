"""The gateway's moving parts in one object: settings, the HTTP client, backends, supervisor."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from .errors import GatewayError
from .forwarding.forward import Forward
from .forwarding.proxy import Proxy, Unreachable
from .forwarding.wire import upstream
from .metrics import Metrics
from .scopes import header
from .settings import GatewaySettings
from .workers import choice
from .workers.backends import Backend, BackendPool
from .workers.jobids import BACKEND_HEADER
from .workers.supervisor import Supervisor


class Gateway:
    def __init__(self, settings: GatewaySettings, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or Metrics()
        token = settings.backend_token()
        # Spawned workers always get a token: other local users must not reach them directly.
        self.token = token or (secrets.token_urlsafe(32) if settings.spawn else None)
        self.pool = BackendPool(urls=settings.backends, token=self.token,
                                health_interval=settings.health_interval,
                                dns_interval=settings.dns_interval, metrics=self.metrics,
                                kill_after=settings.kill_after)
        self.client: upstream.Upstream | None = None
        self._proxy: Proxy | None = None
        self.supervisor = (Supervisor(pool=self.pool, count=settings.spawn, mode=settings.mode,
                                      token=self.token or "", metrics=self.metrics,
                                      blender=settings.blender) if settings.spawn else None)
        if self.supervisor is not None:
            self.pool.replace = self.supervisor.replace

    @property
    def proxy(self) -> Proxy:
        assert self._proxy is not None, "the gateway is not started"
        return self._proxy

    async def start(self) -> None:
        # One client, kept-alive connections to every backend, made inside the running loop.
        self.client = upstream.Upstream(self.settings.connect_timeout)
        self.pool.client = self.client
        self._proxy = Proxy(self.client, self.token, self.metrics)
        if self.supervisor is not None:
            await self.supervisor.start()
        await self.pool.start()

    async def stop(self) -> None:
        await self.pool.stop()
        if self.supervisor is not None:
            await self.supervisor.stop()
        if self.client is not None:
            await self.client.close()

    # -- choosing a backend ------------------------------------------------------------

    def pick(self, request: Request, session: str | None = None, key: bytes | None = None) -> Backend:
        """The session's owner, else the backend the caller pinned, else the backend of the
        Idempotency-Key (the caller's, as forwarded: Forward.key), else the least busy."""
        return self._choose(request, session, key)[0]

    def _choose(self, request: Request, session: str | None, key: bytes | None) -> tuple[Backend, bool]:
        """pick(), and whether the choice was free: neither a session nor a pin decided it."""
        session = session or _session_query(request)
        if session:
            return choice.session_owner(self.pool, session), False
        pinned = header(request.scope, BACKEND_HEADER)
        if pinned:
            return choice.pinned(self.pool, pinned), False
        if key:
            return choice.key_owner(self.pool, key.decode("latin-1")), True
        return choice.least_busy(self.pool), True

    def pick_for_files(self, request: Request) -> Backend:
        """Files live on one backend: the session's, the pinned one, else one per API key, so
        a caller's uploads and downloads meet without any setting."""
        if _session_query(request) or header(request.scope, BACKEND_HEADER):
            return self.pick(request)
        caller = hashlib.sha256(request.headers.get("authorization", "").encode()).hexdigest()
        return choice.session_owner(self.pool, caller, what="this API key's files")

    async def forward(self, forward: Forward) -> Response:
        """Forward to the backend forward names, else the picked one. When the choice was free
        (no session, no pin) and the body can be sent again, a request that never ran where it
        went (the connection refused, or a 503: a worker stopping, starting or full) goes once
        to another healthy backend. A 503 also has the backend's health checked at once."""
        if forward.backend is not None:
            backend, free = forward.backend, False
        else:
            backend, free = self._choose(forward.request, forward.session, forward.key)
        try:
            response = await self.proxy.forward(forward, backend)
        except Unreachable:
            elsewhere = self._elsewhere(forward, backend) if free else None
            if elsewhere is None:
                raise
            return await self.proxy.forward(forward, elsewhere)
        if response.status_code == 503 and not isinstance(response, StreamingResponse):
            # A worker refusing work may be stopping: asked now, it gets no new requests from
            # the moment its /health says so, not from the next round of checks (by then it
            # may have closed its port with a request in its backlog, which reads as a crash).
            checked = self.pool.check_soon(backend)
            if free and forward.key and checked is not None:
                # A key may move only with its owner: while this worker stays healthy (its
                # queue full, say) a retry of the key comes back to it and must find it here.
                await asyncio.wait((checked,))  # neither its failure nor our cancel spreads
            if free and not (forward.key and backend.healthy):
                elsewhere = self._elsewhere(forward, backend)
                if elsewhere is not None:
                    return await self.proxy.forward(forward, elsewhere)
        return response

    def _elsewhere(self, forward: Forward, refused: Backend) -> Backend | None:
        """Where a request that did not run on refused goes instead: a keyed one to its key's
        owner among the other healthy backends (a retry of the key meets it there, whichever
        gateway replica sends it), any other to the least busy; None if none or if the body
        is a stream the first try consumed."""
        others = [b for b in self.pool.healthy() if b is not refused]
        if not (others and forward.replayable):
            return None
        if forward.key:
            return choice.owner(others, forward.key.decode("latin-1"))
        return min(others, key=lambda b: b.load)

    async def gather_json(self, request: Request, path: str,
                          params: dict[str, str] | None = None) -> list[tuple[Backend, int, Any]]:
        """GET path from every healthy backend (aggregated listings)."""
        backends = self.pool.healthy()
        if not backends:
            raise choice.no_backend(self.pool)
        answers = await asyncio.gather(*(self.proxy.fetch_json(b, request, path, params)
                                         for b in backends), return_exceptions=True)
        out = []
        for backend, answer in zip(backends, answers, strict=True):
            if isinstance(answer, GatewayError):
                continue  # a backend lost meanwhile: list what the others hold
            if isinstance(answer, BaseException):
                raise answer
            out.append((backend, *answer))
        return out


def _session_query(request: Request) -> str | None:
    """?session= of request; the query is parsed only when it could hold one."""
    if b"session" not in request.scope["query_string"]:
        return None
    return request.query_params.get("session")
