"""A transport whose small writes wait to leave with the next one: an answer's head and body
in one write.

uvicorn writes the status line and headers the moment the app starts its answer, and the
body in a write of its own: two send() calls and two TCP segments for every answer, and on
loopback the sender's CPU does the receiver's TCP work too. Here a small write waits until
the next write or the end of the loop's current step, whichever comes first: a head and a
body sent in one step of the task (every buffered answer) go out together, and nothing
waits past the current turn of the loop."""

from __future__ import annotations

import asyncio
from typing import Any

# A write up to this size may wait for the next one (a head always is); larger ones go at once.
HOLD_LIMIT = 16 * 1024


class JoinedWrites:
    """A transport whose small writes wait for the next write or the loop's next turn."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes) -> None:
        if not data:
            return
        held = self._held
        if held is not None:
            self._held = None
            self._transport.writelines((held, data))  # one system call
        elif len(data) <= HOLD_LIMIT:
            self._held = bytes(data)
            self._loop.call_soon(self._flush)
        else:
            self._transport.write(data)

    def _flush(self) -> None:
        held, self._held = self._held, None
        if held is not None and not self._transport.is_closing():
            self._transport.write(held)

    def write_now(self, data: bytes) -> None:
        """Write data at once, after what waits (an answer written whole: nothing to join)."""
        held = self._held
        if held is not None:
            self._held = None
            self._transport.writelines((held, data))
        else:
            self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
