"""Our head parser and body framing against h11 (the parser uvicorn uses), on generated
requests: ours never accepts what h11 refuses, never frames a body differently, and
every refusal h11 would not make is one of the rules in stricter.py.

A bounded run with a fixed seed runs on every CI (DEFAULT_EXAMPLES examples, about 30 s
of one core). A long run by hand, with a new random seed each time (about a quarter
of an hour):

    BLENDER_HTTP_FUZZ_EXAMPLES=100000 .venv/bin/python -m pytest tests/fuzz -k differential
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blender_http_addon.http.head import HeadError, parse_head

from .parsers import Outcome, ours, ours_in_pieces, reference
from .strategies import requests
from .stricter import why_refused

DEFAULT_EXAMPLES = 3000
FUZZ_EXAMPLES = int(os.environ.get("BLENDER_HTTP_FUZZ_EXAMPLES", DEFAULT_EXAMPLES))
# The CI run is the same every time; a long run by hand explores new ground.
fuzz = settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
                derandomize="BLENDER_HTTP_FUZZ_EXAMPLES" not in os.environ,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def compare(data: bytes) -> tuple[Outcome, Outcome]:
    """Check one input; returns both outcomes for the caller's own assertions."""
    mine, theirs = ours(data), reference(data)
    if mine.accepted:
        assert theirs.accepted, f"we accept what h11 refuses ({theirs.reason}): {_show(data)}"
        assert mine.framing() == theirs.framing(), f"framed differently: {_show(data)}\n{mine}\n{theirs}"
        if mine.keep_alive != theirs.keep_alive:
            # h11 never keeps an HTTP/1.0 connection; we do when it asks (RFC 9112 9.3).
            assert mine.version == "1.0" and "keep-alive" in dict(mine.fields).get("connection", "").lower()
    elif theirs.accepted:
        assert why_refused(data, theirs), f"refused ({mine.reason}) by no stated rule: {_show(data)}"
    return mine, theirs


def _show(data: bytes) -> str:
    return repr(data) if len(data) <= 400 else f"{data[:300]!r}... ({len(data)} bytes)"


def check_prefixes(data: bytes) -> None:
    """Every prefix gives what the main loop may rely on: None while a head that will be
    accepted is arriving, and an early refusal only for a head refused in full."""
    try:
        whole = parse_head(data)
        refused = False
    except HeadError:
        whole, refused = None, True
    end = whole.size if whole is not None else len(data)
    for cut in sorted({*range(0, min(end, 200)), *range(0, end, max(1, end // 100))}):
        try:
            early = parse_head(data[:cut])
        except HeadError:
            assert refused, f"a prefix of an acceptable head is refused: {_show(data[:cut])}"
            continue
        assert early is None or (whole is not None and early == whole), (_show(data), cut)


@fuzz
@given(requests())
def test_ours_agrees_with_h11_or_refuses_by_a_stated_rule(data: bytes) -> None:
    compare(data)
    check_prefixes(data)


@fuzz
@given(st.binary(max_size=300))
def test_any_bytes_agree_with_h11_or_are_refused_by_a_stated_rule(data: bytes) -> None:
    compare(b"POST /exec HTTP/1.1\r\nHost: localhost\r\n" + data)


@settings(fuzz, max_examples=max(1, FUZZ_EXAMPLES // 3))
@given(requests(), st.lists(st.integers(0, 1 << 16), max_size=12))
def test_ours_reads_the_same_whatever_the_pieces_it_arrives_in(data: bytes, cuts: list[int]) -> None:
    # The main loop sees a request whole; a connection thread reads it recv by recv.
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    pieces = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    whole, cut = ours(data), ours_in_pieces(pieces)
    # (A request bad in two ways may be refused for either, by the status of the first
    # rule that the bytes seen so far break.)
    assert (whole.accepted, whole.framing()) == (cut.accepted, cut.framing()), _show(data)
