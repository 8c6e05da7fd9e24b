"""API keys: who may use the gateway. Checked in constant time against every key."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from blender_http_addon.protocol import HEALTH, MCP

# Reachable without a key: probes, and what a browser needs before the user can authorize.
OPEN_PATHS = frozenset({HEALTH, "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
OPEN_PREFIX = "/docs-assets/"


# RFC 9728: where a client that met a 401 reads how to authenticate (the MCP authorization
# spec sends clients there), for the whole gateway and for /mcp.
PROTECTED_RESOURCE = "/.well-known/oauth-protected-resource"
PROTECTED_RESOURCE_PATHS = frozenset({PROTECTED_RESOURCE, PROTECTED_RESOURCE + MCP})


def is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIX)


def resource_metadata(origin: str, path: str) -> dict[str, object]:
    """The protected-resource metadata at path (one of PROTECTED_RESOURCE_PATHS). API keys are
    bearer tokens in the Authorization header, issued by whoever runs the gateway: there is
    no OAuth authorization server to name, so a client has to be given a key."""
    return {"resource": origin + path.removeprefix(PROTECTED_RESOURCE),
            "bearer_methods_supported": ["header"],
            "resource_name": "blender-http gateway (API keys: send 'Authorization: Bearer <key>')"}


def challenge(origin: str, error: str, description: str) -> bytes:
    """A WWW-Authenticate value (RFC 6750 §3) pointing at the metadata (RFC 9728 §5.1)."""
    quoted = description.replace("\\", "\\\\").replace('"', '\\"')
    return (f'Bearer realm="blender-http", error="{error}", error_description="{quoted}", '
            f'resource_metadata="{origin}{PROTECTED_RESOURCE}"').encode("latin-1", "replace")


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
