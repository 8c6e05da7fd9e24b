"""Blender.map's decisions, shared by both twins: what each item sends, when a failed send
goes out again, how many jobs stay in flight, and the order results come out in.
The runners (batch_runners.py) only drive the sends.

Resending is safe in two cases only: nothing reached Blender (503 with Retry-After, a refused
connection), or the caller said the code may run twice (retries). A resend carries the item's
Idempotency-Key, so when the first send did reach a live Blender, it answers with that run
instead of running the item again."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .envelope import ExecResult
from .errors import ConnectError, ConnectionLost, ExecCancelled, ServerError, Unavailable

# Resends of one item that nothing ran (503 queue full, worker restarting, refused): bounded
# so a batch against a server that never comes back ends with errors instead of waiting forever.
MAX_RESENDS = 120
MAX_BACKOFF_S = 2.0
# Seconds before retrying a send whose worker died: the gateway notices the death meanwhile.
RETRY_DELAY_S = 0.2
# When health says nothing of capacity (an older server).
FALLBACK_CONCURRENCY = 8
# Seconds between re-reads of the capacity (/health) while a batch runs: workers that join
# meanwhile (scaling up) get items within this long, and leaving or stopping ones stop counting.
CAPACITY_INTERVAL_S = 3.0
# The threads of the sync runner, whatever the capacity says: past this many, a thread per
# item in flight costs more than it brings.
MAX_THREADS = 256
# Ordered results wait for a slow earlier item; past this many jobs per in-flight slot held
# back, no new item starts (memory stays bounded on a huge batch).
HOLD_FACTOR = 8
# Gateway answers for a send that never reached a worker.
UNREACHED_TYPES = frozenset({"BackendUnreachable"})
# Gateway answers for a send whose worker died while it ran.
DIED_TYPES = frozenset({"BackendDied"})


@dataclasses.dataclass(frozen=True)
class ItemResult:
    """One item's outcome: its ExecResult, or the error it ended with (never both)."""

    index: int
    item: Any
    result: ExecResult | None = None
    error: Exception | None = None
    # How many times it was sent (resends after 503 and retries included).
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def value(self) -> Any:
        """The code's result for this item; raises the item's error if it failed."""
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result.result


Items = Iterable[Any]
Indexes = Iterable[int]
OnResult = Callable[[ItemResult], object]


def args_of(item: Any) -> dict[str, Any]:
    """The args an item runs with: a dict as it is, anything else as {"item": item}."""
    return item if isinstance(item, dict) else {"item": item}


def new_batch_id() -> str:
    """A prefix for the batch's idempotency keys: unique per map() call."""
    return uuid.uuid4().hex


def item_key(batch: str, index: int, args: dict[str, Any]) -> str:
    """The Idempotency-Key of one item: its batch, its index and a digest of its args, so a
    key names the item itself. A rerun that numbers its items otherwise (a resumed batch
    handing over only what is left) can never be answered with another item's result."""
    return f"{batch}-{index}-{args_digest(args)}"


def args_digest(args: dict[str, Any]) -> str:
    """A digest of what an item runs with; binary arguments (bytes, numpy arrays) by their
    bytes, dtype and shape, not by a repr that elides the middle of a large array."""
    digest = hashlib.sha256()

    def binary(value: Any) -> str:
        if isinstance(value, (bytes, bytearray, memoryview)):
            digest.update(bytes(value))
            return f"$bytes:{len(value)}"
        if hasattr(value, "dtype") and hasattr(value, "tobytes"):
            digest.update(value.tobytes())
            return f"$array:{value.dtype.str}:{value.shape}"
        return f"$repr:{value!r}"

    text = json.dumps(args, sort_keys=True, separators=(",", ":"), default=binary)
    digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:16]


def default_concurrency(health: dict[str, Any]) -> int:
    """A quarter of what the server (or the gateway's healthy workers) can hold queued: the
    workers stay busy, no queue fills up, and a worker that takes the load of a dead one
    still has connections left for its health checks and for other clients."""
    backends = health.get("backends")
    if isinstance(backends, list):
        bound = sum(int(b.get("max_queue") or 0) for b in backends if b.get("healthy"))
    else:
        bound = int(health.get("max_queue") or 0)
    return max(1, bound // 4) if bound else FALLBACK_CONCURRENCY


class Attempts:
    """The sends of one item: after a failure, how long to wait before sending it again, or
    None when the failure is the item's outcome."""

    def __init__(self, retries: int) -> None:
        self.retries = retries
        self.sent = 0
        self._resent = 0
        self._retried = 0

    def after(self, error: Exception) -> float | None:
        if _never_ran(error):
            self._resent += 1
            if self._resent > MAX_RESENDS:
                return None
            wait = error.retry_after if isinstance(error, Unavailable) else None
            return wait if wait is not None else min(0.05 * 2 ** self._resent, MAX_BACKOFF_S)
        if _may_have_run(error) and self._retried < self.retries:
            self._retried += 1
            return RETRY_DELAY_S
        return None


def _never_ran(error: Exception) -> bool:
    return (isinstance(error, (Unavailable, ConnectError))
            or (isinstance(error, ServerError) and error.type in UNREACHED_TYPES)
            # A stopping worker's 503 for a job it dropped from its queue: it never started.
            or (isinstance(error, ExecCancelled) and error.status == 503))


def _may_have_run(error: Exception) -> bool:
    """The worker (or the connection to it) was lost while the item was in flight."""
    return isinstance(error, ConnectionLost) or (isinstance(error, ServerError) and error.type in DIED_TYPES)


class Feed:
    """Which item starts next and which results come out now, for up to `concurrency` jobs
    in flight; in input order (ordered) or as they finish. Each item carries its index: its
    place in the input, or the number the caller gave it (`indexes`, e.g. its line in a
    resumed batch's items file)."""

    def __init__(self, items: Iterable[Any], concurrency: int, ordered: bool,
                 indexes: Iterable[int] | None = None) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        self.concurrency = concurrency
        self.ordered = ordered
        self.running = 0
        self._items: Iterator[tuple[int, Any]] = (
            enumerate(items) if indexes is None else zip(indexes, items, strict=True))
        self._exhausted = False
        self._seen: set[int] = set()
        # index -> its place in the input, from its start until it is handed out
        self._place: dict[int, int] = {}
        self._started = 0
        self._held: dict[int, ItemResult] = {}
        self._next = 0

    def starts(self) -> Iterator[tuple[int, Any]]:
        """(index, item) for each item that may start now; counts them as running."""
        while not self._exhausted and self.running < self.concurrency and \
                len(self._held) < self.concurrency * HOLD_FACTOR:
            started = next(self._items, None)
            if started is None:
                self._exhausted = True
                return
            index = started[0]
            if index in self._seen:  # two items under one index would share a key, and a result
                raise ValueError(f"index {index} is given to two items")
            self._seen.add(index)
            self._place[index] = self._started
            self._started += 1
            self.running += 1
            yield started

    def finished(self, result: ItemResult) -> list[ItemResult]:
        """The results to hand out now that `result` came in."""
        self.running -= 1
        place = self._place.pop(result.index)
        if not self.ordered:
            return [result]
        self._held[place] = result
        out = []
        while self._next in self._held:
            out.append(self._held.pop(self._next))
            self._next += 1
        return out

    @property
    def done(self) -> bool:
        return self._exhausted and self.running == 0
