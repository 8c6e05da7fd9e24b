"""http/multipart against python-multipart (the parser FastAPI uses): hypothesis builds forms
and mutates them; wherever our parser accepts a body, both agree on every part's name,
headers and bytes.

Where they differ by design (our parser refuses, python-multipart reads on):
- a bare LF or CR in a part's header block (we take header lines as the request head: CRLF);
- a line that starts with the delimiter and goes on with other text ("--BOUNDARYx"): RFC
  2046 forbids such data, python-multipart keeps it as data, we refuse it as ambiguous;
- python-multipart refuses a preamble and padding after a boundary (RFC 2046 allows both);
  so do we, so that what one accepts the other reads alike;
- a body without its closing delimiter (truncated): python-multipart ends the last part
  wherever the bytes end, we refuse, so a cut-off upload never runs;
- a header field repeated within a part (python-multipart keeps the last one),
- a repeated part name, an empty name, Content-Transfer-Encoding other than 7bit, 8bit or
  binary: refused, since they bind arguments ambiguously.
Only header lines python-multipart accepts are generated (its default limits: 8 headers).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from python_multipart.multipart import MultipartParser, parse_options_header

from blender_http_addon.errors import HttpError
from blender_http_addon.http.multipart import parse_form

BCHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=?"
names = st.text(st.characters(codec="utf-8", exclude_characters='"\\\r\n\x00',
                              exclude_categories=("Cc", "Cs")), min_size=1, max_size=12)
boundaries = st.text(BCHARS, min_size=1, max_size=70)
types = st.sampled_from([None, "application/x-npy", "application/octet-stream", "text/plain; charset=utf-8"])
datas = st.one_of(st.binary(max_size=200),
                  st.lists(st.sampled_from([b"\r\n", b"--", b"\r", b"\n", b"-", b"x", b"\r\n-"]),
                           max_size=30).map(b"".join))


@st.composite
def forms(draw: Any) -> tuple[bytes, list[tuple[str, dict[str, str], bytes]]]:
    boundary = draw(boundaries)
    count = draw(st.integers(0, 4))
    used = draw(st.lists(names, min_size=count, max_size=count, unique=True))
    parts = []
    body = b""
    for name in used:
        headers = {"content-disposition": f'form-data; name="{name}"'}
        if draw(st.booleans()):
            headers["content-disposition"] += f'; filename="{name}.npy"'
        kind = draw(types)
        if kind is not None:
            headers["content-type"] = kind
        data = draw(datas)
        lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        prefix = b"" if body == b"" else b"\r\n"
        body += prefix + f"--{boundary}\r\n{lines}\r\n".encode() + data
        parts.append((name, headers, data))
    body += f"\r\n--{boundary}--".encode() + draw(st.sampled_from([b"", b"\r\n", b"\r\nepilogue"]))
    if not used:
        body = f"--{boundary}--\r\n".encode()
    return body, parts, boundary  # type: ignore[return-value]


def reference(body: bytes, boundary: str) -> list[tuple[str, dict[str, str], bytes]] | None:
    """python-multipart's reading: (Content-Disposition name, headers, data) per part."""
    parts: list[dict[str, Any]] = []
    field: list[bytes] = []
    value: list[bytes] = []

    def begin() -> None:
        parts.append({"headers": {}, "data": b""})

    def header_end() -> None:
        parts[-1]["headers"][b"".join(field).decode("latin-1").lower()] = b"".join(value).decode("latin-1")
        field.clear()
        value.clear()

    callbacks = {
        "on_part_begin": begin,
        "on_header_field": lambda d, s, e: field.append(d[s:e]),
        "on_header_value": lambda d, s, e: value.append(d[s:e]),
        "on_header_end": header_end,
        "on_part_data": lambda d, s, e: parts[-1].__setitem__("data", parts[-1]["data"] + d[s:e]),
    }
    parser = MultipartParser(boundary.encode(), callbacks)  # type: ignore[arg-type]
    try:
        parser.write(body)
        parser.finalize()
    except Exception:
        return None
    out = []
    for part in parts:
        _, params = parse_options_header(part["headers"].get("content-disposition", ""))
        name = params.get(b"name", b"").decode("utf-8", "replace")
        out.append((name, part["headers"], part["data"]))
    return out


def ours(body: bytes, boundary: str) -> list[tuple[str, dict[str, str], bytes]] | None:
    try:
        parsed = parse_form(bytearray(body), boundary.encode())
    except HttpError as exc:
        assert exc.status == 400
        return None
    return [(p.name, dict(p.headers), bytes(p.data)) for p in parsed.values()]


def agree(body: bytes, boundary: str) -> None:
    mine = ours(body, boundary)
    if mine is None:
        return
    theirs = reference(body, boundary)
    assert theirs is not None, "we accepted a body python-multipart refuses"
    assert [(n, h, d) for n, h, d in mine] == [(n, {k: v.strip(" \t") for k, v in h.items()}, d)
                                              for n, h, d in theirs]


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(forms())
def test_generated_forms_round_trip_and_agree(form: Any) -> None:
    body, parts, boundary = form
    mine = ours(body, boundary)
    assert mine is not None or any(f"\r\n--{boundary}".encode() in p[2] + b"\r\n" or
                                   (b"--" + boundary.encode()) in b"\r\n" + p[2] for p in parts)
    if mine is not None:
        assert [(n, d) for n, _, d in mine] == [(n, d) for n, _, d in parts]
        agree(body, boundary)


MUTATIONS = st.sampled_from(["drop-end", "lf", "cr", "cut", "dup", "insert-delimiter", "flip"])


@SETTINGS
@given(forms(), st.lists(st.tuples(MUTATIONS, st.integers(0, 10_000)), min_size=1, max_size=3))
@example((b'--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--b--', [], "b"),
         [("drop-end", 0)])
def test_mutated_forms_agree_where_we_accept(form: Any, mutations: list[tuple[str, int]]) -> None:
    body, _, boundary = form
    for kind, at in mutations:
        body = mutate(body, boundary, kind, at)
    agree(body, boundary)


def mutate(body: bytes, boundary: str, kind: str, at: int) -> bytes:
    at = at % (len(body) + 1)
    if kind == "drop-end":
        return body[: body.rfind(b"--" + boundary.encode() + b"--")] if b"--" in body else body
    if kind == "lf":
        return body.replace(b"\r\n", b"\n", 1) if at % 2 else body[:at] + b"\n" + body[at:]
    if kind == "cr":
        return body[:at] + b"\r" + body[at:]
    if kind == "cut":
        return body[:at]
    if kind == "dup":
        return body[:at] + body[at:at + 40] + body[at:]
    if kind == "insert-delimiter":
        return body[:at] + b"\r\n--" + boundary.encode() + b"\r\n" + body[at:]
    return body[:at] + bytes([body[at] ^ 0x20]) + body[at + 1:] if at < len(body) else body
