"""The one HTTP client the gateway talks to its backends with: aiohttp, kept-alive connections.

aiohttp rather than httpx on this path: it costs a fraction of the CPU per request, and the
gateway's budget is one millisecond over calling a worker directly."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from yarl import URL

# Failures where the request never reached the backend (safe to send elsewhere).
CONNECT_ERRORS: tuple[type[BaseException], ...] = (aiohttp.ClientConnectorError,
                                                   aiohttp.ConnectionTimeoutError)
# Failures after it may have arrived: the backend died, reset or stalled mid-answer.
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (aiohttp.ClientError, asyncio.TimeoutError,
                                                     ConnectionError)


def new_session(connect_timeout: float) -> aiohttp.ClientSession:
    """A session for the running loop. No total or read timeout: code may run for hours; a dead
    backend is noticed by its closed socket, the supervisor or the health checks."""
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=30.0, force_close=False,
                                     enable_cleanup_closed=True)
    return aiohttp.ClientSession(
        connector=connector, trust_env=False, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout, sock_read=None),
        skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type", "Accept"))


def url(base: str, path: str, raw_query: str = "") -> URL:
    """base + path (+ the query as the client sent it, not re-encoded)."""
    return URL(base + path + ("?" + raw_query if raw_query else ""), encoded=True)


def describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def read_json(response: aiohttp.ClientResponse) -> Any:
    return await response.json(content_type=None)
