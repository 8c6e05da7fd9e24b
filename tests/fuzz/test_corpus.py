"""The seed corpus through the differential check: no known-bad request is accepted
where h11 refuses it or framed differently (its run against real servers is in
test_blackbox.py)."""

from __future__ import annotations

import pytest

from .corpus import Seed, load
from .test_differential import check_prefixes, compare

SEEDS = load()


@pytest.mark.parametrize("seed", SEEDS, ids=[seed.name for seed in SEEDS])
def test_seed_agrees_with_h11_or_is_refused_by_a_stated_rule(seed: Seed) -> None:
    data = b"".join(seed.for_host("localhost:7777"))
    compare(data)
    check_prefixes(data)


def test_the_corpus_holds_every_case_of_the_attack_run() -> None:
    names = " | ".join(seed.name for seed in SEEDS)
    for needed in ("vertical tab before the Content-Length", "no-break space before the Content-Length",
                   "bare LF before Content-Length", "bare LF before Transfer-Encoding", "head trickled",
                   "body trickled", "Expect: 100-continue on a kept-alive connection"):
        assert needed in names
    assert sum(seed.name.endswith("(test_bad_http)") for seed in SEEDS) >= 36
    for needed in ("a lone surrogate as an MCP request id", "a file name that is not UTF-8",
                   "claiming 1 GiB with 5 bytes sent", "an MCP batch of 101 messages", "50,000 words",
                   "MCP-Protocol-Version zzz", "method name of 200,000 characters",
                   "a version-3.0 .npy claiming", "a file name over 255 bytes"):
        assert needed in names, needed
