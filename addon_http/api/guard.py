"""Who may talk to the server: Host (DNS rebinding), Origin (browser pages), bearer token."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from ..config import LOOPBACK_NAMES, Config, is_loopback
from ..errors import HttpError


class Guard:
    def __init__(self, config: Config, port: int) -> None:
        self._token = config.token.encode() if config.token else None
        self._origins = frozenset(o.rstrip("/").lower() for o in config.allowed_origins)
        extra = {h.lower() for h in config.allowed_hosts}
        # Bound beyond loopback (only possible with a token): any Host unless a list is given.
        self._any_host = "*" in extra or (not is_loopback(config.host) and not extra)
        names = set(LOOPBACK_NAMES) | extra
        if config.host not in ("0.0.0.0", "::", ""):
            names.add(config.host.lower())
        self._hosts = frozenset(names)
        self._port = port

    def check_host(self, host: str | None) -> None:
        """403 unless the Host header names this server (or an allowed name)."""
        if self._any_host:
            return
        if not host:
            raise HttpError(403, "a Host header is required")
        name, port = _split_host(host.lower())
        if name not in self._hosts or (port is not None and port != self._port):
            raise HttpError(403, f"Host {host!r} is not allowed (DNS rebinding protection); "
                                 "add it to BLENDER_HTTP_ALLOWED_HOSTS to accept it")

    def check_origin(self, headers: Mapping[str, str]) -> str | None:
        """403 for a request a browser sent from a foreign page; the allowed origin, if any."""
        origin = headers.get("Origin")
        if origin is None:
            if headers.get("Sec-Fetch-Site", "").lower() == "cross-site":
                raise HttpError(403, "cross-site browser requests are refused")
            return None
        if origin.rstrip("/").lower() in self._origins:
            return origin
        raise HttpError(403, f"Origin {origin!r} is not allowed; add it to "
                             "BLENDER_HTTP_ALLOWED_ORIGINS to accept it")

    def check_token(self, authorization: str | None) -> None:
        """401 unless the bearer token matches (constant-time); no-op without a token."""
        if self._token is None:
            return
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            raise HttpError(401, "missing bearer token: send 'Authorization: Bearer <token>'",
                            headers={"WWW-Authenticate": 'Bearer realm="blender-http"'})
        if not hmac.compare_digest(given.strip().encode(), self._token):
            raise HttpError(401, "wrong token",
                            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def _split_host(host: str) -> tuple[str, int | None]:
    if host.startswith("["):
        name, _, rest = host.partition("]")
        name += "]"
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        name, _, port_text = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    try:
        return name, int(port_text) if port_text else None
    except ValueError:
        return name, -1
