"""Slowing down key guessing: each client address may fail authentication a few times; past
that it gets 429 with Retry-After, and only keys it has already proven pass meanwhile.

Guesses from a throttled address are never checked against the keys, so the throttle bounds
the guess rate per address; a client that proved its key before keeps working at full speed
while someone behind the same address guesses."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from typing import Any

# Failures an address may make at once, then one more every REFILL_S seconds.
BURST = 10
REFILL_S = 6.0
# Addresses remembered (the least recently seen are forgotten first): bounded memory.
MAX_ADDRESSES = 10_000
# Proven keys remembered per address.
MAX_PROVEN = 8


class Throttle:
    def __init__(self, *, burst: int = BURST, refill_s: float = REFILL_S) -> None:
        self._burst = burst
        self._refill_s = refill_s
        # address -> (failures allowed now, when that was computed)
        self._allowance: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._proven: OrderedDict[str, list[bytes]] = OrderedDict()

    def retry_after(self, address: str) -> int:
        """Whole seconds until address may fail again; 0 when it is not throttled."""
        allowance = self._current(address)
        if allowance >= 1:
            return 0
        return max(1, math.ceil((1 - allowance) * self._refill_s))

    def failed(self, address: str) -> None:
        self._allowance[address] = (self._current(address) - 1, time.monotonic())
        self._allowance.move_to_end(address)
        _bound(self._allowance)

    def succeeded(self, address: str, digest: bytes) -> None:
        proven = self._proven.setdefault(address, [])
        if digest not in proven:
            proven.append(digest)
            del proven[:-MAX_PROVEN]
        self._proven.move_to_end(address)
        _bound(self._proven)

    def proven(self, address: str, digest: bytes | None) -> bool:
        """digest is a key this address presented successfully before."""
        return digest is not None and digest in self._proven.get(address, ())

    def _current(self, address: str) -> float:
        entry = self._allowance.get(address)
        if entry is None:
            return float(self._burst)
        allowance, since = entry
        refilled = allowance + (time.monotonic() - since) / self._refill_s
        if refilled >= self._burst:
            del self._allowance[address]
            return float(self._burst)
        return refilled


def _bound(table: OrderedDict[str, Any]) -> None:
    while len(table) > MAX_ADDRESSES:
        table.popitem(last=False)
