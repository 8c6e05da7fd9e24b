"""security.Guard: Host (DNS rebinding), Origin (browser pages), bearer token."""

from __future__ import annotations

import pytest

from blender_http_addon.api.guard import Guard
from blender_http_addon.config import Config
from blender_http_addon.errors import HttpError

PORT = 7777


def refused(action: object, status: int = 403) -> HttpError:
    with pytest.raises(HttpError) as info:
        action()  # type: ignore[operator]
    assert info.value.status == status
    assert info.value.body()["ok"] is False
    return info.value


@pytest.fixture
def guard() -> Guard:
    return Guard(Config(), PORT)


@pytest.mark.parametrize("host", [
    "localhost", "localhost:7777", "LOCALHOST:7777", "127.0.0.1", "127.0.0.1:7777",
    "[::1]", "[::1]:7777", "::1",
])
def test_loopback_hosts_are_allowed(guard: Guard, host: str) -> None:
    guard.check_host(host)


@pytest.mark.parametrize("host", [
    None, "", "localhost:8080", "127.0.0.1:1", "[::1]:80", "localhost:abc",
    "evil.example", "evil.example:7777", "localhost.evil.example", "127.0.0.1.nip.io:7777",
    "0.0.0.0:7777",
])
def test_foreign_hosts_and_wrong_ports_are_refused(guard: Guard, host: str | None) -> None:
    refused(lambda: guard.check_host(host))


def test_allow_list_adds_names() -> None:
    guard = Guard(Config(allowed_hosts=("Blender.Internal",)), PORT)
    guard.check_host("blender.internal")
    guard.check_host("blender.internal:7777")
    guard.check_host("localhost:7777")
    refused(lambda: guard.check_host("blender.internal:1"))
    refused(lambda: guard.check_host("other.internal"))


def test_star_allows_any_host() -> None:
    guard = Guard(Config(allowed_hosts=("*",)), PORT)
    for host in ("evil.example", "anything:1", None):
        guard.check_host(host)


def test_non_loopback_bind_allows_any_host() -> None:
    guard = Guard(Config(host="0.0.0.0", token="t"), PORT)
    for host in ("10.0.0.5:7777", "blender.example", None):
        guard.check_host(host)


def test_non_loopback_bind_with_an_allow_list_keeps_it() -> None:
    guard = Guard(Config(host="10.0.0.5", token="t", allowed_hosts=("blender.example",)), PORT)
    guard.check_host("blender.example:7777")
    guard.check_host("10.0.0.5:7777")
    refused(lambda: guard.check_host("evil.example"))


def test_a_specific_bind_address_is_an_allowed_host() -> None:
    Guard(Config(host="127.0.0.2"), PORT).check_host("127.0.0.2:7777")


def test_no_origin_is_allowed(guard: Guard) -> None:
    assert guard.check_origin({}) is None
    assert guard.check_origin({"Sec-Fetch-Site": "same-origin"}) is None
    assert guard.check_origin({"Sec-Fetch-Site": "none"}) is None


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://localhost:3000",
                                    "http://127.0.0.1:7777"])
def test_any_origin_is_refused_by_default(guard: Guard, origin: str) -> None:
    refused(lambda: guard.check_origin({"Origin": origin}))


def test_cross_site_fetch_without_origin_is_refused(guard: Guard) -> None:
    refused(lambda: guard.check_origin({"Sec-Fetch-Site": "cross-site"}))
    refused(lambda: guard.check_origin({"Sec-Fetch-Site": "Cross-Site"}))


def test_allowed_origins() -> None:
    guard = Guard(Config(allowed_origins=("https://app.example/",)), PORT)
    assert guard.check_origin({"Origin": "https://app.example"}) == "https://app.example"
    assert guard.check_origin({"Origin": "HTTPS://APP.EXAMPLE/"}) == "HTTPS://APP.EXAMPLE/"
    refused(lambda: guard.check_origin({"Origin": "https://app.example.evil"}))
    refused(lambda: guard.check_origin({"Origin": "http://app.example"}))


def test_without_a_token_any_authorization_passes(guard: Guard) -> None:
    guard.check_token(None)
    guard.check_token("Bearer whatever")


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer ", "Basic czNjcmV0", "s3cret"])
def test_missing_token_is_401_with_www_authenticate(authorization: str | None) -> None:
    guard = Guard(Config(token="s3cret"), PORT)
    error = refused(lambda: guard.check_token(authorization), 401)
    assert error.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("authorization", ["Bearer wrong", "Bearer s3cret2", "Bearer S3CRET", "Bearer s3cre"])
def test_wrong_token_is_401(authorization: str) -> None:
    guard = Guard(Config(token="s3cret"), PORT)
    error = refused(lambda: guard.check_token(authorization), 401)
    assert "invalid_token" in error.headers["WWW-Authenticate"]


@pytest.mark.parametrize("authorization", ["Bearer s3cret", "bearer s3cret", "BEARER s3cret "])
def test_right_token_passes(authorization: str) -> None:
    Guard(Config(token="s3cret"), PORT).check_token(authorization)
