"""A scripted HTTP/1.1 backend for the gateway's upstream client: each test says what every
connection answers, including the misbehaviours a real worker shows only when it dies.

Requests are parsed with h11 (the reference parser the fuzz tests use too); answers are
either well-formed (through h11) or raw bytes written as they are."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
from collections.abc import Awaitable, Callable, Iterator

import h11

MAX_READ = 64 * 1024


@dataclasses.dataclass
class Received:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


class Exchange:
    """One connection, from the backend's side."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._h11 = h11.Connection(h11.SERVER)

    async def request(self) -> Received | None:
        """The next request, read whole; None once the client closed the connection."""
        head: h11.Request | None = None
        body = bytearray()
        while True:
            event = self._h11.next_event()
            if event is h11.NEED_DATA:
                self._h11.receive_data(await self.reader.read(MAX_READ))
            elif isinstance(event, h11.Request):
                head = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None
                headers = {k.decode().lower(): v.decode() for k, v in head.headers}
                return Received(head.method.decode(), head.target.decode(), headers, bytes(body))
            elif isinstance(event, h11.ConnectionClosed):
                return None

    async def answer(self, status: int, body: bytes = b"", headers: list[tuple[str, str]] | None = None,
                     *, chunks: int = 0) -> None:
        """A well-formed answer; chunks > 0 sends the body chunked in that many pieces."""
        fields = list(headers or [])
        if chunks:
            fields.append(("transfer-encoding", "chunked"))
        else:
            fields.append(("content-length", str(len(body))))
        self.writer.write(self._h11.send(h11.Response(status_code=status, headers=fields)) or b"")
        step = max(1, -(-len(body) // chunks)) if chunks else len(body) or 1
        for start in range(0, len(body), step):
            self.writer.write(self._h11.send(h11.Data(data=body[start:start + step])) or b"")
            await self.writer.drain()
        self.writer.write(self._h11.send(h11.EndOfMessage()) or b"")
        await self.writer.drain()
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            self._h11.start_next_cycle()

    async def raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


class Backend:
    """A server on a free port whose every connection runs `script`; it counts connections
    and keeps the requests it received."""

    def __init__(self, script: Callable[[Exchange, Backend], Awaitable[None]]) -> None:
        self._script = script
        self.connections = 0
        self.received: list[Received] = []
        self._server: asyncio.Server | None = None
        self.url = ""

    async def __aenter__(self) -> Backend:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        # Connections the client keeps alive are closed by the client's own close().

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        exchange = Exchange(reader, writer)
        try:
            await self._script(exchange, self)
        except (ConnectionError, h11.RemoteProtocolError, asyncio.CancelledError):
            pass  # the client cut the connection (part of some scripts), or the test ended
        finally:
            writer.close()


async def keep_answering(exchange: Exchange, backend: Backend) -> None:
    """Answer every request on the connection with 200 and what it received, echoed."""
    while (request := await exchange.request()) is not None:
        backend.received.append(request)
        await exchange.answer(200, request.body or b"ok", [("content-type", "application/octet-stream")])


@contextlib.contextmanager
def serving(script: Callable[[Exchange, Backend], Awaitable[None]]) -> Iterator[Backend]:
    """The backend on a loop of its own in a thread, for a gateway process to reach."""
    loop = asyncio.new_event_loop()
    backend = Backend(script)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(backend.__aenter__(), loop).result(10)
    try:
        yield backend
    finally:
        asyncio.run_coroutine_threadsafe(backend.__aexit__(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


HEALTHY = b'{"status":"ok","busy":false,"queued":0,"max_queue":64,"mode":"module"}'


def worker_that(on_request: Callable[[Exchange, Received], Awaitable[bool]]
                ) -> Callable[[Exchange, Backend], Awaitable[None]]:
    """A script that answers /health as a healthy worker and hands every other request to
    on_request (False: it ended the connection)."""
    async def script(exchange: Exchange, backend: Backend) -> None:
        while (request := await exchange.request()) is not None:
            if request.target.startswith("/health"):
                await exchange.answer(200, HEALTHY, [("content-type", "application/json")])
                continue
            backend.received.append(request)
            if not await on_request(exchange, request):
                return
    return script
