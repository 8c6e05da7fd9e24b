"""API keys: who may use the gateway. Checked in constant time against every key."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from blender_http_addon.protocol import HEALTH

# Reachable without a key: probes, and what a browser needs before the user can authorize.
OPEN_PATHS = frozenset({HEALTH, "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
OPEN_PREFIX = "/docs-assets/"


def is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIX)


class KeyCheck:
    def __init__(self, keys: Iterable[str]) -> None:
        # Digests have one length, so comparing never leaks a key's length either.
        self._digests = tuple(_digest(key) for key in keys)

    @property
    def enabled(self) -> bool:
        return bool(self._digests)

    def allows(self, authorization: str | None) -> bool:
        """True for `Bearer <a known key>` (or for anything when no key is configured)."""
        if not self._digests:
            return True
        return self.known(presented(authorization))

    def known(self, digest: bytes | None) -> bool:
        """digest (from presented()) is one of the keys."""
        if digest is None:
            return False
        found = False
        for known in self._digests:  # no early exit: the time does not tell which key matched
            found |= hmac.compare_digest(digest, known)
        return found


def presented(authorization: str | None) -> bytes | None:
    """The digest of the key in `Authorization: Bearer <key>`, None without one."""
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return None
    return _digest(given.strip())


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()
