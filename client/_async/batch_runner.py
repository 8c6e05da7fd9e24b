"""The driver of AsyncBlender.map: anyio tasks send each item through `send` until
batching.Attempts says its outcome is final, and results go out as batching.Feed orders them.

Written by hand, and so is its twin _sync/batch_runner.py (threads): tasks and a thread pool
have no line-by-line translation, so scripts/unasync.py leaves both alone. What they share
(retries, ordering, keys) lives in batching.py."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import anyio

from .. import batching
from ..batching import Attempts, Feed, ItemResult
from ..envelope import ExecResult

# send(args, idempotency_key) -> the item's result
AsyncSend = Callable[[dict[str, Any], str], Awaitable[ExecResult]]
# () -> how many items may be in flight now (the server's capacity)
AsyncCapacity = Callable[[], Awaitable[int]]


class AsyncRunner:
    """capacity, if given, is re-read every batching.CAPACITY_INTERVAL_S while items run and
    becomes the new concurrency: workers added meanwhile get items, removed ones stop counting."""

    def __init__(self, send: AsyncSend, *, concurrency: int, retries: int, batch: str | None = None,
                 capacity: AsyncCapacity | None = None) -> None:
        self._send = send
        self.concurrency = concurrency
        self.retries = retries
        self._batch = batch or batching.new_batch_id()
        self._capacity = capacity

    async def run(self, items: Iterable[Any], *, ordered: bool = True,
                  indexes: Iterable[int] | None = None) -> AsyncIterator[ItemResult]:
        feed = Feed(items, self.concurrency, ordered, indexes)
        sender, receiver = anyio.create_memory_object_stream[ItemResult](math.inf)
        reread_at = anyio.current_time() + batching.CAPACITY_INTERVAL_S if self._capacity else math.inf
        async with anyio.create_task_group() as tasks:
            try:
                while True:
                    if anyio.current_time() >= reread_at:
                        feed.concurrency = await self._capacity_now(feed.concurrency)
                        reread_at = anyio.current_time() + batching.CAPACITY_INTERVAL_S
                    for index, item in feed.starts():
                        tasks.start_soon(self._deliver, sender, index, item)
                    if feed.done:
                        break
                    received = None
                    with anyio.move_on_after(reread_at - anyio.current_time()):
                        received = await receiver.receive()
                    for result in feed.finished(received) if received is not None else ():
                        yield result
            finally:
                tasks.cancel_scope.cancel()  # the caller stopped iterating: stop the sends too

    async def _capacity_now(self, current: int) -> int:
        """The capacity the server states now; the current one while it cannot say (a gateway
        with no healthy worker for a moment must not end the batch)."""
        assert self._capacity is not None
        try:
            return max(1, await self._capacity())
        except Exception:  # any failure to ask leaves the batch as it was
            return current

    async def _deliver(self, sender: Any, index: int, item: Any) -> None:
        await sender.send(await self._item(index, item))

    async def _item(self, index: int, item: Any) -> ItemResult:
        attempts = Attempts(self.retries)
        args = batching.args_of(item)
        key = batching.item_key(self._batch, index, args)
        while True:
            attempts.sent += 1
            try:
                return ItemResult(index, item, result=await self._send(args, key), attempts=attempts.sent)
            except Exception as exc:  # every item ends with its result or its error
                delay = attempts.after(exc)
                if delay is None:
                    return ItemResult(index, item, error=exc, attempts=attempts.sent)
                await anyio.sleep(delay)
