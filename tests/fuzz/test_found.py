"""Each disagreement with h11 the fuzzer found, kept as a plain test (each failed before
its fix in http/head.py or http/request.py)."""

from __future__ import annotations

import pytest

from blender_http_addon.http.head import parse_head

from .test_differential import compare

HEAD = b"POST /exec HTTP/1.1\r\nHost: localhost\r\n"


@pytest.mark.parametrize("fields", [
    b"Expect: 100-continue\r\nExpect: 100-continue\r\n",
    b"Expect: foo, 100-continue\r\n",
    b"Expect: 100-Continue \r\n",
])
def test_expect_100_continue_is_found_in_a_list_as_h11_finds_it(fields: bytes) -> None:
    # Before: only a lone "100-continue" counted, so a client that sent the token in a
    # list (or the field twice) waited for a 100 that never came.
    data = HEAD + fields + b"Content-Length: 1\r\n\r\n1"
    mine, theirs = compare(data)
    assert mine.expect_continue and theirs.expect_continue
    head = parse_head(data)
    assert head is not None and head.expect_continue


def test_expect_100_continue_means_nothing_before_http_1_1() -> None:
    head = parse_head(b"POST /exec HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n1")
    assert head is not None and not head.expect_continue


@pytest.mark.parametrize("line", [b"1 ;a=b", b"1\t;a", b"0 ;a"])
def test_white_space_before_a_chunk_extension_is_refused_as_h11_refuses_it(line: bytes) -> None:
    # Before: we skipped it and read the chunk, h11 refuses the line: a proxy built on
    # one and a server on the other would frame the body differently.
    body = line + b"\r\nx\r\n0\r\n\r\n" if not line.startswith(b"0") else line + b"\r\n\r\n"
    mine, theirs = compare(HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + body)
    assert not mine.accepted and not theirs.accepted


@pytest.mark.parametrize("line", [b"1", b"1 ", b"1\t", b"1;a=b", b"1;a=b ", b"01;a"])
def test_chunk_sizes_with_trailing_white_space_or_an_extension_are_read(line: bytes) -> None:
    mine, theirs = compare(HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + line + b"\r\nx\r\n0\r\n\r\n")
    assert mine.accepted and theirs.accepted and mine.body == b"x"


def test_a_chunked_http_1_0_request_is_refused() -> None:
    # h11 reads it and closes the connection after; RFC 9112 6.1 calls its framing
    # faulty. We kept such a connection open when it asked for keep-alive, so refuse it.
    data = (b"POST /exec HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"1\r\nx\r\n0\r\n\r\n")
    mine, theirs = compare(data)
    assert not mine.accepted and mine.reason.startswith("400") and theirs.accepted
