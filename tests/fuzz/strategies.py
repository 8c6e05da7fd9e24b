"""Hypothesis strategies for HTTP/1.1 requests as bytes: well-formed ones, then mutated
where parsers are known to part ways (line ends, white space and control bytes, folded
lines, repeated and conflicting framing fields, odd lengths, chunk sizes, extensions and
trailers, huge and empty values, non-ASCII), followed by the start of a next request.

Bodies use a harmless alphabet: the black-box tests send these requests to a real
server, where a body that reaches POST /exec runs as code (it can add, never loop).
"""

from __future__ import annotations

import dataclasses

from hypothesis import strategies as st

# Bytes that parsers treat differently: controls, white space of every kind, DEL,
# the Latin-1 no-break space, obs-text.
ODD = b"\x00\x01\x08\t\n\x0b\x0c\r\x1f \x7f\x80\x85\xa0\xff,;:\"="
SAFE_BODY = b"0123456789+- #xyz\r\n\x00\xff;\t"

methods = st.sampled_from([b"GET", b"POST", b"PUT", b"DELETE", b"HEAD", b"OPTIONS", b"PATCH"] * 4 + [
                           b"get", b"TRACE", b"PRI", b"M-SEARCH", b"CONNECT"])
targets = st.sampled_from([b"/exec", b"/health", b"/nope", b"/exec?session=a&timeout=5", b"/files/a"] * 4 + [
                           b"*", b"http://localhost/health", b"/%00", b"/a#b", b"//x", b"/\xff"])
versions = st.sampled_from([b"HTTP/1.1"] * 12 + [b"HTTP/1.0"] * 3 + [ b"HTTP/2.0", b"HTTP/1.2", b"HTTP/0.9",
                                                 b"http/1.1", b"HTTP/1.10"])
lengths_odd = st.sampled_from([b"+{n}", b"-{n}", b"0{n}", b"{n}, {n}", b"{n},{m}", b"{n} {n}", b"0x{n}",
                               b"\x0b{n}", b"\xa0{n}", b"{n}\x0b", b"\x0c{n}", b"", b" ", b"1_0",
                               b"99999999999999999999", b"1234567890123456789", b"{m}", b"\t{n}\t",
                               b"{n}\x00", b"\xef\xbc\x95"])
encodings = st.sampled_from([b"chunked"] * 6 + [b"Chunked", b"CHUNKED", b"chunked, chunked", b"gzip, chunked",
                                                 b"chunked;q=1", b"\x0bchunked", b"identity", b"",
                                                 b"chunked\x00", b"xchunked", b"chunked , identity",
                                                 b" chunked "])
extra_fields = st.sampled_from([
    (b"Connection", b"close"), (b"Connection", b"keep-alive"), (b"Connection", b"Keep-Alive, Upgrade"),
    (b"Expect", b"100-continue"), (b"Expect", b"100-Continue"), (b"Expect", b"foo, 100-continue"),
    (b"Expect", b"200-ok"), (b"Content-Type", b"text/plain"), (b"Authorization", b"Bearer x"),
    (b"X-Empty", b""), (b"X-Latin", b"caf\xe9 \xa0"), (b"X-Utf8", "h\u00e9llo \u2603".encode()),
    (b"Host", b"localhost"), (b"Transfer-Encoding", b"chunked"), (b"Content-Length", b"0"),
])
body_bytes = st.binary(max_size=48).map(lambda raw: bytes(SAFE_BODY[b % len(SAFE_BODY)] for b in raw))
nexts = st.sampled_from([b"", b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n", b"G", b"\r\n",
                         b"0\r\n\r\n", b"xyz"])


@dataclasses.dataclass
class Draft:
    """A request before it becomes bytes: lines without their ends, and what follows."""

    lines: list[bytes]
    ends: list[bytes]
    body: bytes
    rest: bytes

    def encode(self) -> bytes:
        head = b"".join(line + end for line, end in zip(self.lines, self.ends, strict=True))
        return head + b"\r\n" + self.body + self.rest


@st.composite
def chunked_bodies(draw: st.DrawFn, payload: bytes) -> bytes:
    pieces, cut = [], 0
    while cut < len(payload):
        length = draw(st.integers(1, max(1, len(payload) - cut)))
        pieces.append(payload[cut:cut + length])
        cut += length
    out = b""
    for piece in [*pieces, b""]:
        size = b"%x" % len(piece)
        size = draw(st.sampled_from([size] * 4 + [size.upper(), b"0" * draw(st.integers(1, 20)) + size]))
        ext = draw(st.sampled_from([b""] * 16 + [b";a=b", b';a="q;\\"x"', b" ;a", b"; a", b";", b";a=\x00",
                                                b";a\rb", b" \t", b";\xff", b";a=b c"]))
        end = draw(st.sampled_from([b"\r\n"] * 30 + [b"\n", b"\r", b"", b"\r\r\n", b"xx"])) if piece else b""
        out += size + ext + b"\r\n" + piece + end
    trailers = draw(st.lists(st.sampled_from([
        b"X-Trailer: 1", b"Content-Length: 5", b"Content-Length: 5\r\nContent-Length: 5", b" folded",
        b"X-Bad\x01: 1", b"X-Ctl: a\x01b", b"X-Nl: a\nb", b"X-Cr: a\rb", b"nocolon", b"X-Sp : 1",
        b"X-Big: " + b"t" * 2000, b"Host: x"]), max_size=2))
    return out + b"".join(t + b"\r\n" for t in trailers) + b"\r\n"


@st.composite
def drafts(draw: st.DrawFn) -> Draft:
    """A request with a Host and one framing, valid or nearly so."""
    request_line = draw(methods) + b" " + draw(targets) + b" " + draw(versions)
    fields: list[tuple[bytes, bytes]] = []
    if draw(st.integers(0, 9)):
        host = draw(st.sampled_from([b"localhost", b"localhost:7777", b"127.0.0.1:1", b""]))
        fields.append((b"Host", host))
    fields += draw(st.lists(extra_fields, max_size=3))
    payload = draw(body_bytes)
    body = b""
    framing = draw(st.sampled_from(["none", "length", "length", "chunked", "chunked", "odd length",
                                    "odd encoding", "both", "two lengths"]))
    n, m = str(len(payload)).encode(), str(len(payload) + draw(st.sampled_from([-1, 1, 7]))).encode()
    if framing in ("length", "both", "two lengths"):
        fields.append((b"Content-Length", n))
        body = payload
    if framing == "two lengths":
        fields.append((b"Content-Length", draw(st.sampled_from([n, m]))))
    if framing == "odd length":
        fields.append((b"Content-Length", draw(lengths_odd).replace(b"{n}", n).replace(b"{m}", m)))
        body = payload
    if framing in ("chunked", "odd encoding", "both"):
        fields.append((b"Transfer-Encoding", b"chunked" if framing != "odd encoding" else draw(encodings)))
        body = draw(chunked_bodies(payload))
    draw(st.randoms(use_true_random=False)).shuffle(fields)
    sep = [b": ", b":", b":\t", b":  "]
    lines = [request_line] + [name + draw(st.sampled_from(sep)) + value for name, value in fields]
    return Draft(lines, [b"\r\n"] * len(lines), body, draw(nexts))


def _insert(draw: st.DrawFn, draft: Draft) -> None:
    i = draw(st.integers(0, len(draft.lines) - 1))
    line = draft.lines[i]
    at = draw(st.integers(0, len(line)))
    draft.lines[i] = line[:at] + draw(st.sampled_from(list(ODD))).to_bytes(1, "big") + line[at:]


def _line_end(draw: st.DrawFn, draft: Draft) -> None:
    i = draw(st.integers(0, len(draft.ends) - 1))
    draft.ends[i] = draw(st.sampled_from([b"\n", b"\r", b"\r\r\n", b"\n\r", b" \r\n", b"\r\n\r\n"]))


def _fold(draw: st.DrawFn, draft: Draft) -> None:
    if len(draft.lines) > 1:
        i = draw(st.integers(1, len(draft.lines) - 1))
        draft.lines.insert(i + 1, draw(st.sampled_from([b" folded", b"\tfolded", b" "])))
        draft.ends.insert(i + 1, b"\r\n")


def _duplicate(draw: st.DrawFn, draft: Draft) -> None:
    if len(draft.lines) > 1:
        i = draw(st.integers(1, len(draft.lines) - 1))
        draft.lines.append(draft.lines[i] + draw(st.sampled_from([b"", b"0", b" ", b",1"])))
        draft.ends.append(b"\r\n")


def _space_before_colon(draw: st.DrawFn, draft: Draft) -> None:
    if len(draft.lines) > 1:
        i = draw(st.integers(1, len(draft.lines) - 1))
        draft.lines[i] = draft.lines[i].replace(b":", draw(st.sampled_from([b" :", b"\t:", b"\x0b:"])), 1)


def _huge(draw: st.DrawFn, draft: Draft) -> None:
    size = draw(st.sampled_from([1000, 16_000, 66_000]))
    draft.lines.append(b"X-Huge: " + b"h" * size)
    draft.ends.append(b"\r\n")


def _leading_empty_line(draw: st.DrawFn, draft: Draft) -> None:
    draft.lines.insert(0, b"")
    draft.ends.insert(0, draw(st.sampled_from([b"\r\n", b"\n"])))


def _flip_body(draw: st.DrawFn, draft: Draft) -> None:
    if draft.body:
        at = draw(st.integers(0, len(draft.body) - 1))
        odd = draw(st.sampled_from(list(ODD))).to_bytes(1, "big")
        draft.body = draft.body[:at] + odd + draft.body[at + 1:]


MUTATIONS = [_insert, _line_end, _fold, _duplicate, _space_before_colon, _huge, _leading_empty_line,
             _flip_body]


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    """The bytes of one request (and the start of the next): about half as drafted,
    the rest with one or two mutations."""
    draft = draw(drafts())
    for mutation in draw(st.lists(st.sampled_from(MUTATIONS), max_size=2)) if draw(st.booleans()) else ():
        mutation(draw, draft)
    data = draft.encode()
    if draw(st.integers(0, 19)) == 0:  # cut anywhere: a request that never completes
        data = data[:draw(st.integers(0, len(data)))]
    return data
