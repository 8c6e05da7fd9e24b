"""The same bytes through our parser (http/head.py + http/request.py) and through h11,
each reduced to one Outcome: refused, or the request it read and where its body ended.

Both see the whole input at once and then the end of the stream, so "incomplete" is a
refusal for both (our connection answers 408 after its deadline, h11 raises).
"""

from __future__ import annotations

import dataclasses
import socket

import h11

from blender_http_addon.errors import HttpError
from blender_http_addon.http.head import MAX_HEAD_BYTES, Head, HeadError, parse_head
from blender_http_addon.http.request import BodyLimits, Request
from blender_http_addon.http.socket_io import SocketReader

# Above every body the strategies build, so a refusal for size is one for a huge
# declared length only (a rule of ours, see stricter.py).
BODY_LIMIT = 1 << 20
LIMITS = BodyLimits(max_bytes=BODY_LIMIT, timeout=5.0, idle_timeout=5.0)
# The header fields whose values decide framing, routing or the connection's fate.
FIELDS = ("host", "content-length", "transfer-encoding", "connection", "expect")


@dataclasses.dataclass(frozen=True)
class Outcome:
    accepted: bool
    # Why it was refused (a status of ours, or h11's message).
    reason: str = ""
    method: str = ""
    target: str = ""
    version: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    chunked: bool = False
    body: bytes = b""
    # What follows the request: the start of the next one on a kept-alive connection.
    rest: bytes = b""
    keep_alive: bool = False
    expect_continue: bool = False

    def framing(self) -> tuple[object, ...]:
        """Everything both parsers must agree on once both accept."""
        return (self.method, self.target, self.version, self.fields, self.chunked, self.body,
                self.rest, self.expect_continue)


class Trickle:
    """A socket whose every recv gives the next piece: the bytes as a network may cut them."""

    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = [piece for piece in pieces if piece]

    def recv(self, size: int) -> bytes:
        if not self._pieces:
            return b""
        piece = self._pieces.pop(0)
        if len(piece) > size:
            self._pieces.insert(0, piece[size:])
        return piece[:size]

    def settimeout(self, timeout: float | None) -> None:
        pass


def ours(data: bytes) -> Outcome:
    """All of data at once, as the main loop sees a request that arrived whole."""
    try:
        head = parse_head(data)
    except HeadError as exc:
        return Outcome(False, f"{exc.status} {exc.message}")
    if head is None:
        return Outcome(False, "incomplete head")
    a, b = socket.socketpair()
    with a, b:
        b.shutdown(socket.SHUT_WR)  # every byte is already in the reader's buffer
        return _body(head, SocketReader(a, data[head.size:]))


def ours_in_pieces(pieces: list[bytes]) -> Outcome:
    """data cut into pieces, each one recv, as a connection thread reads it."""
    reader = SocketReader(Trickle(pieces))  # type: ignore[arg-type]
    try:
        while (head := parse_head(reader.buffer)) is None:
            if not reader.fill():
                return Outcome(False, "incomplete head")
    except HeadError as exc:
        return Outcome(False, f"{exc.status} {exc.message}")
    del reader.buffer[:head.size]
    outcome = _body(head, reader)
    rest = b"".join(iter(lambda: reader.read(65536), b""))  # what the next request would read
    return dataclasses.replace(outcome, rest=rest) if outcome.accepted else outcome


def _body(head: Head, reader: SocketReader) -> Outcome:
    request = Request(head, reader, LIMITS, send_continue=lambda: None)
    try:
        body = request.body()
    except HttpError as exc:
        return Outcome(False, f"{exc.status} {exc.message}")
    fields = tuple((name, head.headers[name]) for name in FIELDS if name in head.headers)
    if head.chunked:
        fields = tuple((n, v.lower() if n == "transfer-encoding" else v) for n, v in fields)
    version = f"{head.version[0]}.{head.version[1]}"
    return Outcome(True, "", head.method, head.target, version, _normal(fields),
                   head.chunked, body, bytes(reader.buffer), head.keep_alive, head.expect_continue)


def reference(data: bytes) -> Outcome:
    """What h11 reads (as a server, with our head size bound), or why it refuses."""
    connection = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
    connection.receive_data(data)
    connection.receive_data(b"")
    request: h11.Request | None = None
    body = b""
    waiting = False
    try:
        while True:
            event = connection.next_event()
            if isinstance(event, h11.Request):
                request = event
                waiting = connection.they_are_waiting_for_100_continue
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
            else:
                return Outcome(False, f"h11: {event!r}")
    except h11.RemoteProtocolError as exc:
        return Outcome(False, f"h11 {exc.error_status_hint}: {exc}")
    assert request is not None
    values: dict[str, list[str]] = {}
    for name, value in request.headers:
        values.setdefault(name.decode("ascii"), []).append(value.decode("iso-8859-1"))
    fields = tuple((name, ", ".join(values[name])) for name in FIELDS if name in values)
    chunked = "transfer-encoding" in values
    return Outcome(True, "", request.method.decode("ascii"), request.target.decode("ascii"),
                   request.http_version.decode("ascii"), _normal(fields), chunked, body,
                   bytes(connection.trailing_data[0]), h11._connection._keep_alive(request), waiting)


def _normal(fields: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(fields))
