"""The driver of Blender.map: threads send each item through `send` until batching.Attempts
says its outcome is final, and results go out as batching.Feed orders them.

Written by hand, the twin of _async/batch_runner.py (anyio tasks): a thread pool and tasks
have no line-by-line translation, so scripts/unasync.py leaves both alone. What they share
(retries, ordering, keys) lives in batching.py."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .. import batching
from ..batching import Attempts, Feed, ItemResult
from ..envelope import ExecResult

# send(args, idempotency_key) -> the item's result
Send = Callable[[dict[str, Any], str], ExecResult]


class Runner:
    def __init__(self, send: Send, *, concurrency: int, retries: int, batch: str | None = None) -> None:
        self._send = send
        self.concurrency = concurrency
        self.retries = retries
        self._batch = batch or batching.new_batch_id()
        # Set when the caller stops iterating: threads still sending give up their resends.
        self._stopped = threading.Event()

    def run(self, items: Iterable[Any], *, ordered: bool = True,
            indexes: Iterable[int] | None = None) -> Iterator[ItemResult]:
        feed = Feed(items, self.concurrency, ordered, indexes)
        pending: set[concurrent.futures.Future[ItemResult]] = set()
        pool = concurrent.futures.ThreadPoolExecutor(self.concurrency, thread_name_prefix="blender-map")
        try:
            while True:
                pending |= {pool.submit(self._item, index, item) for index, item in feed.starts()}
                if feed.done:
                    break
                finished, pending = concurrent.futures.wait(
                    pending, return_when=concurrent.futures.FIRST_COMPLETED)
                for future in finished:
                    yield from feed.finished(future.result())
        finally:
            # The caller stopped iterating (or was interrupted): drop what has not started.
            self._stopped.set()
            pool.shutdown(wait=False, cancel_futures=True)

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
