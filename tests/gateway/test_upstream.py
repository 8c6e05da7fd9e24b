"""The gateway's upstream client against scripted backends: kept-alive reuse, backends that
close, die or babble, both body framings, and large bodies streamed both ways."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from blender_http_gateway.forwarding.wire import upstream
from tests.gateway import gateways, scripted
from tests.gateway.scripted import Backend, Exchange, Received, keep_answering

MIB = 1024 * 1024
Run = Callable[[Coroutine[Any, Any, None]], None]


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Iterator[Run]:
    """Runs a test's coroutine on asyncio's loop, then on uvloop's (the gateway's)."""
    if request.param == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        yield uvloop.run
    else:
        yield asyncio.run


async def send(client: upstream.Upstream, backend: Backend, path: str = "/exec", body: upstream.Body = b"x",
               method: str = "POST", headers: upstream.Headers | None = None) -> upstream.Answer:
    return await client.request(upstream.origin(backend.url), method, path, b"", headers or [], body)


def test_a_connection_is_kept_alive_and_reused(run: Run) -> None:
    async def main() -> None:
        async with Backend(keep_answering) as backend:
            client = upstream.Upstream(3.0)
            for i in range(5):
                answer = await send(client, backend, body=b"call %d" % i)
                assert (answer.status, await answer.read()) == (200, b"call %d" % i)
            await client.close()
        assert backend.connections == 1
        first = backend.received[0]
        assert first.headers["host"] == backend.url.removeprefix("http://")
        assert first.headers["content-length"] == "6"
    run(main())


def test_an_answer_saying_close_is_not_reused(run: Run) -> None:
    async def once_then_close(exchange: Exchange, backend: Backend) -> None:
        request = await exchange.request()
        assert request is not None
        await exchange.answer(200, b"bye", [("connection", "close")])

    async def main() -> None:
        async with Backend(once_then_close) as backend:
            client = upstream.Upstream(3.0)
            for _ in range(3):
                answer = await send(client, backend)
                assert await answer.read() == b"bye"
            await client.close()
        assert backend.connections == 3
    run(main())


def test_a_backend_closing_kept_alive_connections_silently(run: Run) -> None:
    """It closes after each answer without saying so: an idempotent request on a connection
    found closed goes out again on a new one, never failing."""
    async def once_silently(exchange: Exchange, backend: Backend) -> None:
        request = await exchange.request()
        assert request is not None
        await exchange.answer(200, b"once")

    async def main() -> None:
        async with Backend(once_silently) as backend:
            client = upstream.Upstream(3.0)
            for _ in range(4):
                answer = await send(client, backend, method="GET", body=None)
                assert await answer.read() == b"once"
            await client.close()
        assert backend.connections == 4
    run(main())


def test_a_post_is_sent_again_only_with_an_idempotency_key(run: Run) -> None:
    """The same silent closes: a POST may have run, so it fails, unless it carries an
    Idempotency-Key, with which a worker answers a repeat with the first run's answer."""
    async def once_silently(exchange: Exchange, backend: Backend) -> None:
        assert await exchange.request() is not None
        await exchange.answer(200, b"once")

    async def main() -> None:
        async with Backend(once_silently) as backend:
            client = upstream.Upstream(3.0)
            keyed = [(b"idempotency-key", b"item-1")]
            for _ in range(3):
                assert await (await send(client, backend, headers=keyed)).read() == b"once"
            with pytest.raises(upstream.DroppedError, match="closed before answering"):
                await send(client, backend)
            await client.close()
        # Each keyed POST after the first found its connection closed and went out on a new
        # one; the last, without a key, failed on the closed one and opened none.
        assert backend.connections == 3
    run(main())


def test_a_keyed_post_a_backend_died_with_is_dropped_not_never_sent(run: Run) -> None:
    """A backend that dies (stops listening and closes) with a keyed POST in hand, on a
    connection that carried an answer before: the one more try finds nothing listening, so
    the request may have run there, and it fails as dropped. A ConnectError would tell the
    proxy it never arrived, and the proxy would send it to another worker, which does not
    know its key and would run it again."""
    async def once_then_die(exchange: Exchange, backend: Backend) -> None:
        assert await exchange.request() is not None
        await exchange.answer(200, b"once")
        assert await exchange.request() is not None  # the next one, in hand
        assert backend._server is not None
        backend._server.close()  # the process is gone: nothing listens on its port

    async def main() -> None:
        async with Backend(once_then_die) as backend:
            client = upstream.Upstream(3.0)
            keyed = [(b"idempotency-key", b"item-1")]
            assert await (await send(client, backend, headers=keyed)).read() == b"once"
            with pytest.raises(upstream.DroppedError, match="closed before answering"):
                await send(client, backend, headers=keyed)
            await client.close()
        assert backend.connections == 1  # the try on a connection of its own found none
    run(main())


def test_a_backend_dying_mid_answer_is_a_dropped_connection(run: Run) -> None:
    async def dies(exchange: Exchange, backend: Backend) -> None:
        await exchange.request()
        await exchange.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
        await exchange.close()

    async def main() -> None:
        async with Backend(dies) as backend:
            client = upstream.Upstream(3.0)
            answer = await send(client, backend)
            with pytest.raises(upstream.DroppedError, match="closed while answering"):
                await answer.read()
            # Nothing kept: the next request needs a connection of its own.
            with pytest.raises(upstream.DroppedError):
                await (await send(client, backend)).read()
            await client.close()
        assert backend.connections == 2
    run(main())


def test_an_unreadable_answer_is_a_dropped_connection(run: Run) -> None:
    async def babbles(exchange: Exchange, backend: Backend) -> None:
        await exchange.request()
        await exchange.raw(b"I am not HTTP\r\n\r\n")

    async def main() -> None:
        async with Backend(babbles) as backend:
            client = upstream.Upstream(3.0)
            with pytest.raises(upstream.DroppedError, match="unreadable answer"):
                await send(client, backend)
            await client.close()
    run(main())


def test_nothing_listening_is_a_connect_error(run: Run) -> None:
    async def main() -> None:
        async with Backend(keep_answering) as backend:
            url = backend.url
        client = upstream.Upstream(3.0)
        with pytest.raises(upstream.ConnectError):
            await client.request(upstream.origin(url), "GET", "/health", b"", [], None)
    run(main())


def test_chunked_and_content_length_answers_on_one_connection(run: Run) -> None:
    payload = bytes(range(256)) * 40

    async def both(exchange: Exchange, backend: Backend) -> None:
        while (request := await exchange.request()) is not None:
            await exchange.answer(200, payload, chunks=7 if request.target == "/chunked" else 0)

    async def main() -> None:
        async with Backend(both) as backend:
            client = upstream.Upstream(3.0)
            for path in ("/chunked", "/length", "/chunked", "/length"):
                answer = await send(client, backend, path=path, method="GET", body=None)
                framing = b"transfer-encoding" if path == "/chunked" else b"content-length"
                assert framing in dict(answer.headers)
                assert await answer.read() == payload
            await client.close()
        assert backend.connections == 1
    run(main())


async def _pieces(total: int, size: int = MIB) -> AsyncIterator[bytes]:
    for start in range(0, total, size):
        yield bytes([start // size % 251]) * min(size, total - start)


def _expected(total: int, size: int = MIB) -> bytes:
    return b"".join(bytes([start // size % 251]) * min(size, total - start)
                    for start in range(0, total, size))


def test_large_bodies_stream_both_ways(run: Run) -> None:
    total = 24 * MIB

    async def digest(exchange: Exchange, backend: Backend) -> None:
        while (request := await exchange.request()) is not None:
            backend.received.append(request)
            answer = hashlib.sha256(request.body).hexdigest().encode() if request.body else _expected(total)
            await exchange.answer(200, answer, chunks=1 if request.body else 96)

    async def main() -> None:
        async with Backend(digest) as backend:
            client = upstream.Upstream(3.0)
            want = hashlib.sha256(_expected(total)).hexdigest().encode()
            # Upload without a length (sent chunked) and with the client's length.
            unsized = await send(client, backend, body=_pieces(total))
            assert await unsized.read() == want
            sized = await send(client, backend, body=_pieces(total),
                               headers=[(b"content-length", str(total).encode())])
            assert await sized.read() == want
            download = await send(client, backend, method="GET", body=None)
            received = [chunk async for chunk in download.chunks()]
            assert len(received) > 1  # it came as it arrived, not held whole
            assert b"".join(received) == _expected(total)
            await client.close()
        unsized_request, sized_request = backend.received[:2]
        assert unsized_request.headers.get("transfer-encoding") == "chunked"
        assert sized_request.headers.get("content-length") == str(total)
        assert "transfer-encoding" not in sized_request.headers
        assert backend.connections == 1
    run(main())


def test_a_half_read_answer_is_never_reused(run: Run) -> None:
    async def big(exchange: Exchange, backend: Backend) -> None:
        while (request := await exchange.request()) is not None:
            await exchange.answer(200, b"z" * (8 * MIB) if request.target == "/big" else b"small", chunks=64)

    async def main() -> None:
        async with Backend(big) as backend:
            client = upstream.Upstream(3.0)
            answer = await send(client, backend, path="/big", method="GET", body=None)
            async for chunk in answer.chunks():
                assert chunk
                break  # the reader goes away, as a client that disconnects
            answer.release()
            again = await send(client, backend, path="/small", method="GET", body=None)
            assert await again.read() == b"small"
            await client.close()
        assert backend.connections == 2
    run(main())


def test_an_answer_before_the_whole_upload(run: Run) -> None:
    """A backend may refuse a body (413) before it has read it: the answer arrives, not an
    error about the upload it cut short, and the connection is not reused."""
    async def refuses(exchange: Exchange, backend: Backend) -> None:
        await exchange.reader.readuntil(b"\r\n\r\n")
        await exchange.raw(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 7\r\n\r\ntoo big")
        while await exchange.reader.read(MIB):  # drained, so the answer is not lost to a reset
            pass

    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield b"u" * MIB
            await asyncio.sleep(0)

    async def main() -> None:
        async with Backend(refuses) as backend:
            client = upstream.Upstream(3.0)
            answer = await send(client, backend, body=endless())
            assert (answer.status, await answer.read()) == (413, b"too big")
            assert await (await send(client, backend, method="GET", body=None)).read() == b"too big"
            await client.close()
        assert backend.connections == 2
    run(main())


def test_through_the_gateway_a_worker_dying_mid_answer_is_a_502_in_the_one_shape(
        tmp_path: Path) -> None:
    async def exec_dies(exchange: Exchange, request: Received) -> bool:
        if request.target == "/exec":
            await exchange.raw(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                               b"Content-Length: 100\r\n\r\n{\"ok\":tr")
            await exchange.close()
            return False
        await exchange.answer(200, b'{"ok":true}', [("content-type", "application/json")])
        return True

    with scripted.serving(scripted.worker_that(exec_dies)) as backend:
        gateway = gateways.start(tmp_path, "--backend", backend.url)
        try:
            with gateway.client() as client:
                listed = client.get("/scene", headers={"Authorization": "Bearer mine",
                                                          "Expect": "100-continue",
                                                          "X-Request-ID": "trace-1"})
                assert listed.status_code == 200, listed.text
                died = client.post("/exec", content="1")
                assert died.status_code == 502, died.text
                error = died.json()
                assert error["ok"] is False and error["error"]["type"] == "BackendDied"
                assert "dropped the connection while answering" in error["error"]["message"]
                assert client.get("/health").headers["content-type"] == "application/json"
        finally:
            gateway.stop()
    forwarded = backend.received[0].headers
    # The client's credentials and hop-by-hop headers stay in the gateway; its request id goes on.
    assert "authorization" not in forwarded and "expect" not in forwarded
    assert forwarded["x-request-id"] == "trace-1"
    assert forwarded["host"] == backend.url.removeprefix("http://")
