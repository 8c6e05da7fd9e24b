"""http/multipart: forms parsed strictly, parts as views into the one body buffer."""

from __future__ import annotations

import pytest

from blender_http_addon.errors import HttpError
from blender_http_addon.http.multipart import boundary_of, is_multipart, parse_form, parse_parameters

B = b"b0und"


def part(name: str, data: bytes, *extra: str, filename: str | None = None) -> bytes:
    disposition = f'Content-Disposition: form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    head = "\r\n".join([disposition, *extra]).encode()
    return b"--" + B + b"\r\n" + head + b"\r\n\r\n" + data + b"\r\n"


def form(*parts: bytes, end: bytes = b"--" + B + b"--\r\n") -> bytearray:
    return bytearray(b"".join(parts) + end)


def refused(body: bytes | bytearray, status: int = 400) -> str:
    with pytest.raises(HttpError) as info:
        parse_form(body, B)
    assert info.value.status == status
    return info.value.message


def test_parts_by_name_with_headers_and_bytes() -> None:
    body = form(part("request", b'{"code": "1"}', "Content-Type: application/json"),
                part("pts", b"\x93NUMPY\r\n--x\r\n", "Content-Type: APPLICATION/X-NPY", filename="p.npy"),
                part("raw", b""))
    parts = parse_form(body, B)
    assert list(parts) == ["request", "pts", "raw"]
    assert parts["request"].content_type == "application/json"
    assert bytes(parts["pts"].data) == b"\x93NUMPY\r\n--x\r\n"
    assert (parts["pts"].content_type, parts["pts"].filename) == ("application/x-npy", "p.npy")
    assert (parts["raw"].content_type, bytes(parts["raw"].data)) == ("text/plain", b"")


def test_part_data_is_a_view_into_the_body() -> None:
    body = form(part("a", b"hello"))
    data = parse_form(body, B)["a"].data
    assert data.obj is body


def test_epilogue_and_a_part_without_headers() -> None:
    body = (b"--" + B + b"\r\n\r\nbare\r\n--" + B
            + b"\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--" + B + b"--epilogue")
    with pytest.raises(HttpError, match="no Content-Disposition"):
        parse_form(body, B)
    body = body.replace(b"\r\n\r\nbare", b"\r\nContent-Disposition: form-data; name=y\r\n\r\nbare")
    parts = parse_form(body, B)
    assert {k: bytes(v.data) for k, v in parts.items()} == {"y": b"bare", "x": b"1"}


def test_preamble_and_padding_are_refused() -> None:
    assert "must start with" in refused(b"preamble\r\n" + form(part("a", b"1")))
    assert "other text" in refused(form(part("a", b"1").replace(B + b"\r\n", B + b" \r\n", 1)))


def test_quoted_names_escapes_and_utf8() -> None:
    name = "punkte ü"
    body = form(part(name, b"1"), part('a\\"b', b"2"))
    assert list(parse_form(body, B)) == [name, 'a"b']


@pytest.mark.parametrize("body, words", [
    (form(part("a", b"1"), part("a", b"2")), "given twice"),
    (form(part("a", b"1"), end=b""), "truncated"),
    (form(part("a", b"1"), end=b"--" + B), "truncated"),
    (b"--" + B + b"\r\nContent-Disposition: form-data; name=a\r\n\r\nab", "truncated"),
    (b"no boundary at all", "must start with"),
    (form(part("", b"1")), "no name"),
    (form(part("a", b"1", "Content-Transfer-Encoding: base64")), "Content-Transfer-Encoding"),
    (form(part("a", b"1").replace(b"form-data", b"attachment")), "not form-data"),
    (form(part("a", b"1", "X-A: 1\nX-B: 2")), "bare CR or LF"),
    (form(part("a", b"1", "X-A: 1\rX-B: 2")), "bare CR or LF"),
    (form(part("a", b"1", " folded")), "folding"),
    (form(part("a", b"1", 'Content-Disposition: form-data; name="b"')), "repeats a header"),
    (form(part("a", b"x\r\n--" + B + b"X\r\ny")), "followed by other text"),
    (form(part("a", b"1").replace(b'name="a"', b'name="a"; name="b"')), "repeated"),
    (form(part("a", b"1").replace(b'name="a"', b'name="a')), "malformed parameters"),
])
def test_malformed_forms_are_400(body: bytes, words: str) -> None:
    assert words in refused(body)


def test_header_block_is_bounded() -> None:
    huge = part("a", b"1", "X-Big: " + "x" * 70000)
    assert "do not end" in refused(form(huge))


def test_boundary_from_content_type() -> None:
    assert boundary_of('multipart/form-data; boundary="a b:c"') == b"a b:c"
    assert boundary_of("multipart/form-data;boundary=AbC") == b"AbC"
    for bad in ("multipart/form-data", "multipart/form-data; boundary=", 'multipart/form-data; boundary="a "',
                "multipart/form-data; boundary=" + "x" * 71, "multipart/form-data; boundary=a;;"):
        with pytest.raises(HttpError) as info:
            boundary_of(bad)
        assert info.value.status == 400
    assert is_multipart("Multipart/Form-Data; boundary=x") and not is_multipart("application/json")


def test_parameters_keep_case_of_values() -> None:
    assert parse_parameters('Form-Data; NAME="A\\\\b"; x=Y') == ("form-data", {"name": "A\\b", "x": "Y"})
