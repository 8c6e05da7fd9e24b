"""Requests a web page makes the user's browser send: refused unless they come from the
gateway's own pages (Swagger UI, ReDoc).

Without this a page on any site could POST code to a gateway on localhost as a "simple"
request: no preflight, and the gateway adds the workers' token on its way through. API
keys stop that when they are set (a page cannot attach one without a CORS preflight,
which the gateway never approves); a gateway without keys, possible on loopback only,
also checks the Host header, or a DNS name rebound to 127.0.0.1 would make a foreign
page same-origin with it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from urllib.parse import urlsplit

from blender_http_addon.config import LOOPBACK_NAMES


class BrowserCheck:
    def __init__(self, *, open_gateway: bool, allowed_origins: Iterable[str] = ()) -> None:
        # open_gateway: no API keys, so the Host must be a loopback name (DNS rebinding).
        self._open = open_gateway
        self._origins = frozenset(o.rstrip("/").lower() for o in allowed_origins)

    def refusal(self, host: str | None, origin: str | None, fetch_site: str | None,
                port: int | None) -> str | None:
        """Why the request must be refused (403), or None to let it through."""
        if self._open and not _is_loopback_host(host, port):
            return (f"Host {host!r} is not this gateway's loopback address (DNS rebinding "
                    "protection); set BLENDER_HTTP_API_KEYS to serve other names")
        if origin is None:
            if (fetch_site or "").lower() == "cross-site":
                return "cross-site browser requests are refused"
            return None
        if origin.rstrip("/").lower() in self._origins or _same_origin(origin, host):
            return None
        return (f"Origin {origin!r} is not this gateway; add it to BLENDER_HTTP_ALLOWED_ORIGINS "
                "to accept requests from its pages")


def _same_origin(origin: str, host: str | None) -> bool:
    # The gateway's own pages: the origin names the very host and port the request went to.
    return bool(host) and urlsplit(origin).netloc.lower() == (host or "").lower()


@functools.lru_cache(maxsize=256)  # asked on every request, with the same few hosts
def _is_loopback_host(host: str | None, port: int | None) -> bool:
    if not host:
        return False
    parts = urlsplit(f"//{host.lower()}")
    name = f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname else parts.hostname
    try:
        given_port = parts.port
    except ValueError:
        return False
    return name in LOOPBACK_NAMES and (given_port is None or port is None or given_port == port)
