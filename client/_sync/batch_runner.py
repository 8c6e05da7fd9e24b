"""The driver of Blender.map: threads send each item through `send` until batching.Attempts
says its outcome is final, and results go out as batching.Feed orders them.

Written by hand, the twin of _async/batch_runner.py (anyio tasks): a thread pool and tasks
have no line-by-line translation, so scripts/unasync.py leaves both alone. What they share
(retries, ordering, keys) lives in batching.py."""

from __future__ import annotations

import concurrent.futures
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .. import batching
from ..batching import Attempts, Feed, ItemResult
from ..envelope import ExecResult

# send(args, idempotency_key) -> the item's result
Send = Callable[[dict[str, Any], str], ExecResult]
# () -> how many items may be in flight now (the server's capacity)
Capacity = Callable[[], int]


class Runner:
    """capacity, if given, is re-read every batching.CAPACITY_INTERVAL_S while items run and
    becomes the new concurrency (at most batching.MAX_THREADS): workers added meanwhile get
    items, removed ones stop counting."""

    def __init__(self, send: Send, *, concurrency: int, retries: int, batch: str | None = None,
                 capacity: Capacity | None = None) -> None:
        self._send = send
        self.concurrency = concurrency
        self.retries = retries
        self._batch = batch or batching.new_batch_id()
        self._capacity = capacity
        # Set when the caller stops iterating: threads still sending give up their resends.
        self._stopped = threading.Event()

    def run(self, items: Iterable[Any], *, ordered: bool = True,
            indexes: Iterable[int] | None = None) -> Iterator[ItemResult]:
        threads = self.concurrency if self._capacity is None else batching.MAX_THREADS
        feed = Feed(items, min(self.concurrency, threads), ordered, indexes)
        pending: set[concurrent.futures.Future[ItemResult]] = set()
        # Threads start as items are submitted, never more than are in flight at once.
        pool = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="blender-map")
        reread_at = time.monotonic() + batching.CAPACITY_INTERVAL_S if self._capacity else math.inf
        try:
            while True:
                if time.monotonic() >= reread_at:
                    feed.concurrency = min(self._capacity_now(feed.concurrency), threads)
                    reread_at = time.monotonic() + batching.CAPACITY_INTERVAL_S
                pending |= {pool.submit(self._item, index, item) for index, item in feed.starts()}
                if feed.done:
                    break
                wait = None if reread_at == math.inf else max(0.0, reread_at - time.monotonic())
                finished, pending = concurrent.futures.wait(
                    pending, timeout=wait, return_when=concurrent.futures.FIRST_COMPLETED)
                for future in finished:
                    yield from feed.finished(future.result())
        finally:
            # The caller stopped iterating (or was interrupted): drop what has not started.
            self._stopped.set()
            pool.shutdown(wait=False, cancel_futures=True)

    def _capacity_now(self, current: int) -> int:
        """The capacity the server states now; the current one while it cannot say (a gateway
        with no healthy worker for a moment must not end the batch)."""
        assert self._capacity is not None
        try:
            return max(1, self._capacity())
        except Exception:  # any failure to ask leaves the batch as it was
            return current

    def _item(self, index: int, item: Any) -> ItemResult:
        attempts = Attempts(self.retries)
        args = batching.args_of(item)
        key = batching.item_key(self._batch, index, args)
        while True:
            attempts.sent += 1
            try:
                return ItemResult(index, item, result=self._send(args, key), attempts=attempts.sent)
            except Exception as exc:  # every item ends with its result or its error
                delay = attempts.after(exc)
                if delay is None or self._stopped.wait(delay):
                    return ItemResult(index, item, error=exc, attempts=attempts.sent)
