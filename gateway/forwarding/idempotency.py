"""Idempotency-Keys belong to the API key that sent them: the gateway forwards each one as
`<the caller's digest>:<key>`, so two callers' keys never meet on a worker, and routes by
that (choice.key_owner), so each caller's key still finds the worker of its first request.

The digest is of the bearer token (as the edge reads it): every gateway replica with the
same API keys forwards a key alike, with no shared state. Without API keys every caller is
the same caller. A key too long for that form to keep within the add-on's limit
(MAX_IDEMPOTENCY_KEY) goes as `<the caller's digest>#<a digest of the key>`: another
separator, so it never equals the forwarded form of a key sent as it is."""

from __future__ import annotations

import hashlib
from collections.abc import MutableMapping
from typing import Any

from blender_http_addon.protocol import IDEMPOTENCY_HEADER, MAX_IDEMPOTENCY_KEY

from ..errors import GatewayError
from ..scopes import raw_header

HEADER = IDEMPOTENCY_HEADER.lower().encode()
_CALLER_SALT = b"blender-http idempotency caller\0"
_CALLER_HEX = 32  # 128 bits


def sent_key(scope: MutableMapping[str, Any]) -> bytes | None:
    """The Idempotency-Key the request in scope sends, None when none; 400 for a key the
    add-on would refuse (empty or over MAX_IDEMPOTENCY_KEY characters)."""
    key = raw_header(scope, HEADER)
    if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
        raise GatewayError(400, f"{IDEMPOTENCY_HEADER} must be 1-{MAX_IDEMPOTENCY_KEY} characters")
    return key


def caller_key(scope: MutableMapping[str, Any]) -> bytes | None:
    """The Idempotency-Key to forward for the request in scope (sent_key(), scoped to its
    caller), None when it sends none."""
    key = sent_key(scope)
    if key is None:
        return None
    caller = _caller(raw_header(scope, b"authorization") or b"")
    scoped = caller + b":" + key
    if len(scoped) <= MAX_IDEMPOTENCY_KEY:
        return scoped
    return caller + b"#" + hashlib.sha256(key).hexdigest().encode()


def _caller(authorization: bytes) -> bytes:
    """A digest of the bearer token in authorization, as the edge reads it (scheme in any
    case, spaces around the token ignored)."""
    scheme, _, token = authorization.partition(b" ")
    if scheme.lower() == b"bearer":
        authorization = token.strip()
    return hashlib.sha256(_CALLER_SALT + authorization).hexdigest()[:_CALLER_HEX].encode()
