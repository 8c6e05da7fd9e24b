"""API keys: who may use the gateway, and what a read-only key may do. Checked in constant
time against every key.

A read-only key (`read-only:<key>` in the settings) may read anything, render, export and
cancel jobs, and use /mcp, where the worker offers it the read-only tool set: the edge marks
its requests with READ_ONLY_HEADER (tools.py), which the add-on honours on /mcp. Everything
else that is not a read is refused with 403: running code (POST /exec, POST /jobs), changing
the scene (POST /import), the work folder (PUT and DELETE /files/...) or the sessions
(DELETE /sessions/...). The rule lists what such a key may send, not what it may not, so a
route added later is closed to it until it is listed here."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from blender_http_addon.mcp.tools import READ_ONLY_HEADER, READ_ONLY_VALUE
from blender_http_addon.protocol import EXPORT, HEALTH, JOBS, MCP, RENDER

# Reachable without a key: probes, and what a browser needs before the user can authorize.
OPEN_PATHS = frozenset({HEALTH, "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
OPEN_PREFIX = "/docs-assets/"
# What a read-only key may send besides GET, HEAD and OPTIONS: (method, path) pairs, and
# (method, path prefix) for paths with an id in them (DELETE /jobs/{id} cancels a job).
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_ONLY_ALLOWED = frozenset({("POST", RENDER), ("POST", EXPORT), ("POST", MCP), ("DELETE", MCP)})
READ_ONLY_ALLOWED_UNDER = (("DELETE", JOBS + "/"),)


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
    def __init__(self, keys: Iterable[str], read_only: Iterable[str] = ()) -> None:
        # Digests have one length, so comparing never leaks a key's length either.
        self._digests = tuple(_digest(key) for key in keys)
        self._read_only = tuple(_digest(key) for key in read_only)

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
        return _among(digest, self._digests)

    def read_only(self, digest: bytes | None) -> bool:
        """digest (from presented()) is one of the read-only keys."""
        return digest is not None and _among(digest, self._read_only)


def _among(digest: bytes, digests: tuple[bytes, ...]) -> bool:
    found = False
    for known in digests:  # no early exit: the time does not tell which key matched
        found |= hmac.compare_digest(digest, known)
    return found


def read_only_refusal(method: str, path: str) -> str | None:
    """Why a read-only key may not send this request, or None when it may."""
    if method in READ_METHODS:
        return None
    trimmed = path.rstrip("/") or "/"
    if (method, trimmed) in READ_ONLY_ALLOWED or any(
            method == allowed and trimmed.startswith(prefix)
            for allowed, prefix in READ_ONLY_ALLOWED_UNDER):
        return None
    return (f"this API key is read-only: it may not {method} {path} (a read-only key reads, "
            "renders, exports and cancels jobs, and gets the read-only MCP tools; it runs no code, "
            "changes no scene, and neither uploads nor deletes files)")


def mark_read_only(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """headers with READ_ONLY_HEADER set, whatever the client sent as that header: the worker
    then offers the read-only tool set on /mcp."""
    name = READ_ONLY_HEADER.lower().encode()
    return [(key, value) for key, value in headers if key != name] + [(name, READ_ONLY_VALUE.encode())]


def presented(authorization: str | None) -> bytes | None:
    """The digest of the key in `Authorization: Bearer <key>`, None without one."""
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return None
    return _digest(given.strip())


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()
