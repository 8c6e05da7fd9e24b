"""The Idempotency-Key the gateway forwards, without Blender: the caller's, within the
add-on's limit, and the header as the client sent it never forwarded."""

from __future__ import annotations

from typing import Any

import pytest

from blender_http_addon.protocol import MAX_IDEMPOTENCY_KEY
from blender_http_gateway.errors import GatewayError
from blender_http_gateway.forwarding import idempotency
from blender_http_gateway.forwarding.proxy import Proxy
from blender_http_gateway.metrics import Metrics


def scope(key: bytes | None, authorization: bytes | None = b"Bearer one") -> dict[str, Any]:
    headers = [(b"content-type", b"application/json")]
    if authorization is not None:
        headers.append((b"authorization", authorization))
    if key is not None:
        headers.append((b"idempotency-key", key))
    return {"type": "http", "headers": headers}


def test_no_header_no_key() -> None:
    assert idempotency.caller_key(scope(None)) is None


def test_a_key_is_the_callers() -> None:
    one = idempotency.caller_key(scope(b"k1"))
    assert one is not None and one.endswith(b":k1")
    assert idempotency.caller_key(scope(b"k1", b"Bearer two")) != one
    # The token as the edge reads it: the scheme in any case, spaces around it ignored.
    assert idempotency.caller_key(scope(b"k1", b"bearer  one ")) == one
    # Without API keys every caller is one caller.
    assert idempotency.caller_key(scope(b"k1", None)) == idempotency.caller_key(scope(b"k1", b""))


def test_a_long_key_stays_within_the_limit_and_apart() -> None:
    longest = b"k" * MAX_IDEMPOTENCY_KEY
    forwarded = idempotency.caller_key(scope(longest))
    assert forwarded is not None and len(forwarded) <= MAX_IDEMPOTENCY_KEY
    assert forwarded != idempotency.caller_key(scope(longest[:-1]))
    # A key sent as it is never equals a long key's digest form: the separators differ.
    digest_form = forwarded.partition(b"#")[2]
    assert idempotency.caller_key(scope(digest_form)) != forwarded


@pytest.mark.parametrize("key", [b"", b"k" * (MAX_IDEMPOTENCY_KEY + 1)])
def test_a_key_the_add_on_would_refuse_is_400(key: bytes) -> None:
    with pytest.raises(GatewayError) as caught:
        idempotency.caller_key(scope(key))
    assert caught.value.status == 400


def test_only_the_callers_key_is_forwarded() -> None:
    proxy = Proxy(None, "worker-token", Metrics())  # type: ignore[arg-type]  # sends nothing here
    raw = scope(b"k1")
    forwarded = idempotency.caller_key(raw)
    headers = proxy._headers(raw, b"{}", forwarded)
    assert [v for k, v in headers if k == b"idempotency-key"] == [forwarded]
    assert not [v for k, v in proxy._headers(raw, b"{}") if k == b"idempotency-key"]
