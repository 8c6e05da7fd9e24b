"""gateway/serving/joined_writes.py without a server: a head and the body written in the same step
go out in one call; a lone small write goes at the loop's next turn; large ones at once;
order is kept and close() sends what waits."""

from __future__ import annotations

import asyncio
from typing import Any

from blender_http_gateway.serving.joined_writes import HOLD_LIMIT, JoinedWrites


class Recording:
    """A transport that records each call that would be a system call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes]] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.calls.append(("write", bytes(data)))

    def writelines(self, parts: Any) -> None:
        self.calls.append(("writelines", b"".join(parts)))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> str:
        return f"extra {name}"


def test_writes_join_flush_and_keep_their_order() -> None:
    async def scenario() -> list[list[tuple[str, bytes]]]:
        raw = Recording()
        joined = JoinedWrites(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
        seen = []
        joined.write(b"HTTP/1.1 200 OK\r\n\r\n")
        joined.write(b'{"ok":true}')
        seen.append(list(raw.calls))  # one call for both
        raw.calls.clear()
        joined.write(b"data: 1\n\n")
        seen.append(list(raw.calls))  # waits for the next write or the loop's turn
        await asyncio.sleep(0)
        seen.append(list(raw.calls))
        raw.calls.clear()
        big = b"x" * (HOLD_LIMIT + 1)
        joined.write(b"")
        joined.write(big)
        joined.write(b"tail")
        seen.append(list(raw.calls))
        raw.calls.clear()
        joined.close()
        seen.append(list(raw.calls))
        assert raw.closed and joined.get_extra_info("peername") == "extra peername"
        return seen

    big = b"x" * (HOLD_LIMIT + 1)
    assert asyncio.run(scenario()) == [
        [("writelines", b'HTTP/1.1 200 OK\r\n\r\n{"ok":true}')],
        [],
        [("write", b"data: 1\n\n")],
        [("write", big)],
        [("write", b"tail")],
    ]


def test_nothing_is_written_once_the_transport_closes() -> None:
    async def scenario() -> list[tuple[str, bytes]]:
        raw = Recording()
        joined = JoinedWrites(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
        joined.write(b"late")
        raw.closed = True  # the client went away before the loop's turn
        await asyncio.sleep(0)
        return raw.calls

    assert asyncio.run(scenario()) == []
