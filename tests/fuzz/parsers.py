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
from blender_http_addon.http.head import MAX_HEAD_BYTES, HeadError, parse_head
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


def ours(data: bytes) -> Outcome:
    try:
        head = parse_head(data)
    except HeadError as exc:
        return Outcome(False, f"{exc.status} {exc.message}")
    if head is None:
        return Outcome(False, "incomplete head")
    a, b = socket.socketpair()
    with a, b:
        b.shutdown(socket.SHUT_WR)  # every byte is already in the reader's buffer
        reader = SocketReader(a, data[head.size:])
        request = Request(head, reader, LIMITS, send_continue=lambda: None)
        try:
            body = request.body()
        except HttpError as exc:
            return Outcome(False, f"{exc.status} {exc.message}")
        rest = bytes(reader.buffer)
    fields = tuple((name, head.headers[name]) for name in FIELDS if name in head.headers)
    if head.chunked:
        fields = tuple((n, v.lower() if n == "transfer-encoding" else v) for n, v in fields)
    version = f"{head.version[0]}.{head.version[1]}"
    return Outcome(True, "", head.method, head.target, version, _normal(fields),
                   head.chunked, body, rest, head.keep_alive, head.expect_continue)


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
