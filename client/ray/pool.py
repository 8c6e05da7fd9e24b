"""The driver's side of a Ray batch: a pool of Blender workers (Ray actors), one per slot the
cluster offers, that hands each item to an idle one.

- Slots: a worker reserves what its RayTarget asks (by default one CPU and one `blender`
  resource); the cluster's totals say how many fit. The pool reads them again every
  REFRESH_S while items wait, so a node that joins gets workers and items within seconds.
- Ray's own retries stay off (max_restarts=0, max_task_retries=0): Ray would run an item
  again on its own, and the code may not be safe to run twice. An item whose worker (or
  node) died ends with ConnectionLost, and map's `retries` alone decide whether it runs again.
- Lifetime: the actors belong to this driver. close() kills them; when the driver dies, Ray
  ends them; either way their Blenders follow through the lifeline (worker.py).

RayPool is blocking and thread-safe (the sync map's threads share it); AsyncRayPool runs it
on worker threads for AsyncBlender.map."""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from typing import Any

import anyio
import httpx

from .. import calls, errors
from ..envelope import ExecResult
from ..errors import ConnectError, ConnectionLost, ServerError
from .target import RayTarget, parse
from .worker import START_TIMEOUT_S, BlenderWorker, Reply

# How often waiting items look at the cluster's resources again (new nodes, lost ones).
REFRESH_S = 1.0
# How long an item waits while no worker is alive at all (none idle, busy or starting)
# before it fails as never sent (map sends it again, with backoff).
NO_WORKER_S = 10.0
# Items in flight at least: they wait in the pool for an idle worker, so workers that
# join the cluster find items waiting.
MIN_IN_FLIGHT = 32
# After a worker failed to start, the next start waits this long, doubling up to the cap.
MAX_START_BACKOFF_S = 30.0
# A worker not placed on a node and started by then counts as failed to start.
PLACE_TIMEOUT_S = START_TIMEOUT_S + 60.0
# Workers that failed to start in a row, after which items stop waiting for the next one.
FAILED_STARTS = 2
# How long close() lets idle workers stop their Blenders before it kills them.
STOP_WAIT_S = 15.0
MISSING = ("running items on Ray needs the ray package: pip install 'blender-http[ray]' "
           "(the same Ray version as the cluster's)")
# Failures a worker reports by name: the client's own transport errors.
FAILURES: dict[str, type[errors.TransportError]] = {
    cls.__name__: cls for cls in (errors.ConnectError, errors.ConnectionLost, errors.RequestTimeout,
                                  errors.TransportError)}


# The Ray Client proxy starts a server process per client, and under load that start can
# fail once; a new connection gets a new one. Seen about once in a CI run on a busy 2-core
# machine, in two words: "Starting Ray client server failed" (its fork raced gRPC's
# threads), or the proxy's own traceback from start_specific_server when it looked at the
# server that had just died (psutil.ZombieProcess).
CLIENT_START_FAILED = ("Starting Ray client server failed", "start_specific_server")
CLIENT_START_ATTEMPTS = 3


def _init(ray: Any, where: str) -> None:
    """ray.init(where): a ConnectError when the cluster cannot be reached; a Ray Client
    server that failed to start is asked for again, CLIENT_START_ATTEMPTS times in all."""
    for attempt in range(1, CLIENT_START_ATTEMPTS + 1):
        try:
            ray.init(address=where, log_to_driver=False, logging_level=logging.WARNING)
            return
        except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
            failed_start = any(words in str(exc) for words in CLIENT_START_FAILED)
            if not failed_start or attempt == CLIENT_START_ATTEMPTS:
                raise ConnectError(f"cannot reach the Ray cluster at {where}: {exc}") from exc
            with contextlib.suppress(Exception):  # whatever half of the connection there is
                ray.shutdown()
            time.sleep(attempt)


class RayPool:
    """Blender workers on a Ray cluster, one per slot; `exec` runs one item on an idle one."""

    def __init__(self, ray: Any, target: RayTarget, *, owns_connection: bool) -> None:
        self._ray = ray
        self.target = target
        self._owns_connection = owns_connection
        self._worker = ray.remote(BlenderWorker).options(
            num_cpus=target.num_cpus, num_gpus=target.num_gpus, resources=target.resources,
            max_restarts=0, max_task_retries=0, max_concurrency=1)
        self._cond = threading.Condition()
        self._idle: list[Any] = []
        self._busy: set[Any] = set()
        self._starting: dict[Any, Any] = {}  # ready ref -> actor
        self._started_at: dict[Any, float] = {}  # ready ref -> when its actor was asked for
        self._actors: list[Any] = []  # every worker started, for close()
        self._nodes: dict[Any, str] = {}  # actor -> its node
        self._slots = 0
        self._refreshed = -math.inf
        self._start_failures = 0
        self._next_start = -math.inf
        self._start_error = ""
        self._closed = False

    @classmethod
    def connect(cls, on: str) -> RayPool:
        """Connect to the cluster `on` names (ray://auto: the one this process is connected
        to, else ray.init("auto")) and start a worker per slot it offers."""
        target = parse(on)
        try:
            import ray
        except ImportError as exc:
            raise ConnectError(MISSING) from exc
        owns = not ray.is_initialized()
        if owns:
            _init(ray, target.address or "auto")
        pool = cls(ray, target, owns_connection=owns)
        with pool._cond:
            pool._tend()
        if pool._slots < 1:
            pool.close()
            raise ConnectError(f"no node of the Ray cluster offers what a Blender worker asks "
                               f"({pool._demand()}); start nodes with e.g. `ray start "
                               f"--resources='{{\"blender\": 1}}'`")
        return pool

    @property
    def concurrency(self) -> int:
        """Items in flight: twice the slots, and never fewer than MIN_IN_FLIGHT."""
        return max(MIN_IN_FLIGHT, 2 * self._slots)

    def capacity(self) -> int:
        """concurrency, as map re-reads it while a batch runs (nodes may join meanwhile)."""
        return self.concurrency

    def exec(self, code: str, args: dict[str, Any], timeout: float | None, key: str) -> ExecResult:
        """Run one item on an idle worker (waiting for one); its result, or the client's error."""
        actor = self._take()
        try:
            reply = self._ray.get(actor.run.remote(code, args, timeout, key))
        except self._ray.exceptions.RayActorError as exc:
            node = self._drop(actor)
            raise ConnectionLost(f"the Ray worker running this item died (node {node}: "
                                 f"{type(exc).__name__}); the code may have run") from exc
        except self._ray.exceptions.RayError as exc:
            node = self._drop(actor)
            raise ConnectionLost(f"Ray lost this item on node {node} ({type(exc).__name__}: "
                                 f"{str(exc)[:300]}); the code may have run") from exc
        self._give_back(actor)
        return read_reply(reply)

    def close(self) -> None:
        """Kill every worker (their Blenders stop with them); disconnect if connect() connected."""
        with self._cond:
            self._closed = True
            idle = list(self._idle)
            actors = list(self._actors)
            self._idle.clear()
            self._busy.clear()
            self._starting.clear()
            self._started_at.clear()
            self._cond.notify_all()
        # The idle ones stop their Blenders and clear their folders first; then every one goes.
        with contextlib.suppress(self._ray.exceptions.RayError):
            stopping = [actor.stop.remote() for actor in idle]
            self._ray.wait(stopping, num_returns=len(stopping), timeout=STOP_WAIT_S)
        for actor in actors:
            self._kill(actor)
        if self._owns_connection:
            self._ray.shutdown()

    # -- the waiting room, under self._cond ------------------------------------------------------

    def _take(self) -> Any:
        with self._cond:
            lonely_since: float | None = None
            while True:
                if self._closed:
                    raise ConnectError("the Ray pool is closed")
                self._tend()
                if self._idle:
                    actor = self._idle.pop()
                    self._busy.add(actor)
                    return actor
                # Workers that keep failing to start are no hope: their items end.
                hopeful = self._starting and self._start_failures < FAILED_STARTS
                if self._busy or hopeful:
                    lonely_since = None
                else:
                    now = time.monotonic()
                    lonely_since = now if lonely_since is None else lonely_since
                    if now - lonely_since > NO_WORKER_S:
                        self._no_worker()
                self._cond.wait(min(REFRESH_S, 0.2))

    def _no_worker(self) -> None:
        """Why no worker is there. Workers that fail to start fail the item (sending it again
        would only wait again); no slot at all (nodes gone) is a ConnectError: nothing ran,
        and map sends it again, in case nodes come back."""
        if self._start_error:
            raise ServerError(502, "WorkerStartFailed", f"no Blender worker could start on the Ray "
                              f"cluster; the last one: {self._start_error}")
        raise ConnectError(f"no Blender worker is alive on the Ray cluster ({self._slots} slot(s) "
                           f"for {self._demand()})")

    def _tend(self) -> None:
        """Start workers for new slots; move the started ones to idle."""
        now = time.monotonic()
        if now - self._refreshed >= REFRESH_S:
            self._refreshed = now
            self._slots = self.target.slots(self._ray.cluster_resources())
            missing = self._slots - len(self._idle) - len(self._busy) - len(self._starting)
            if missing > 0 and now >= self._next_start:
                for _ in range(missing):
                    actor = self._worker.remote(self.target.mode, self.target.blender)
                    self._actors.append(actor)
                    ref = actor.info.remote()
                    self._starting[ref] = actor
                    self._started_at[ref] = now
        for ref, asked in list(self._started_at.items()):
            # A worker asked for just as its node went may never be placed: stop waiting for it.
            if ref in self._starting and now - asked > PLACE_TIMEOUT_S:
                self._start_failed(self._starting.pop(ref), TimeoutError(
                    f"not placed and started within {PLACE_TIMEOUT_S:g} s"))
                del self._started_at[ref]
        if self._starting:
            ready, _ = self._ray.wait(list(self._starting), num_returns=len(self._starting), timeout=0)
            for ref in ready:
                actor = self._starting.pop(ref)
                self._started_at.pop(ref, None)
                try:
                    self._nodes[actor] = self._ray.get(ref)["node"]
                except self._ray.exceptions.RayError as exc:
                    self._start_failed(actor, exc)
                    continue
                self._start_failures = 0
                self._start_error = ""
                self._idle.append(actor)
                self._cond.notify()

    def _start_failed(self, actor: Any, exc: Exception) -> None:
        # Ray's message ends with the worker's own exception (a traceback before it).
        lines = str(exc).strip().splitlines()
        self._start_error = f"{type(exc).__name__}: {lines[-1] if lines else ''}"
        self._start_failures += 1
        self._next_start = time.monotonic() + min(MAX_START_BACKOFF_S, 2.0 ** self._start_failures)
        self._kill(actor)

    def _give_back(self, actor: Any) -> None:
        with self._cond:
            self._busy.discard(actor)
            if not self._closed:
                self._idle.append(actor)
                self._cond.notify()

    def _drop(self, actor: Any) -> str:
        """Forget a worker Ray lost an item of (and end it, should it still run)."""
        with self._cond:
            self._busy.discard(actor)
            self._refreshed = -math.inf  # its node may be gone: count the slots again
            node = self._nodes.pop(actor, "?")
        self._kill(actor)
        return node

    def _kill(self, actor: Any) -> None:
        with contextlib.suppress(ValueError, self._ray.exceptions.RayError):
            self._ray.kill(actor, no_restart=True)

    def _demand(self) -> str:
        return ", ".join(f"{name} {amount:g}" for name, amount in self.target.demand().items())


def read_reply(reply: Reply) -> ExecResult:
    """An item's result from a worker's Reply, through the client's one reading of answers."""
    if reply.failure is not None:
        raise FAILURES.get(reply.failure, errors.TransportError)(
            f"{reply.message} (Ray node {reply.node})")
    # The body is already decoded: its encoding and length headers would not fit it.
    headers = [(name, value) for name, value in reply.headers
               if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
    return calls.read_exec(httpx.Response(reply.status, headers=headers, content=reply.content))


class AsyncRayPool:
    """RayPool for AsyncBlender.map: each call on a worker thread."""

    def __init__(self, pool: RayPool) -> None:
        self._pool = pool
        # map bounds the items in flight; each waits on its own thread.
        self._limiter = anyio.CapacityLimiter(math.inf)

    @classmethod
    async def connect(cls, on: str) -> AsyncRayPool:
        """RayPool.connect, off the event loop."""
        return cls(await anyio.to_thread.run_sync(RayPool.connect, on, abandon_on_cancel=True))

    @property
    def concurrency(self) -> int:
        return self._pool.concurrency

    async def capacity(self) -> int:
        return self._pool.concurrency

    async def exec(self, code: str, args: dict[str, Any], timeout: float | None, key: str) -> ExecResult:
        """RayPool.exec; a cancelled caller leaves the item to finish on its thread."""
        return await anyio.to_thread.run_sync(self._pool.exec, code, args, timeout, key,
                                              abandon_on_cancel=True, limiter=self._limiter)

    async def aclose(self) -> None:
        await anyio.to_thread.run_sync(self._pool.close)
