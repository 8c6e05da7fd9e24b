"""Blender.map's pure parts: the order results come out in, how many run at once, and which
failures are sent again."""

from __future__ import annotations

from typing import Any

import httpx
import numpy
import pytest

from blender_http import ConnectError, ConnectionLost, ExecError, ServerError, Unavailable
from blender_http.batching import Attempts, Feed, ItemResult, args_of, default_concurrency, item_key


def result(index: int) -> ItemResult:
    return ItemResult(index, index)


def test_ordered_feed_holds_results_until_the_earlier_ones_arrive() -> None:
    feed = Feed(range(5), concurrency=3, ordered=True)
    assert list(feed.starts()) == [(0, 0), (1, 1), (2, 2)]
    assert feed.finished(result(2)) == []
    assert feed.finished(result(0)) == [result(0)]
    assert list(feed.starts()) == [(3, 3), (4, 4)]
    assert feed.finished(result(1)) == [result(1), result(2)]
    assert not feed.done
    assert [r.index for r in feed.finished(result(4)) + feed.finished(result(3))] == [3, 4]
    assert list(feed.starts()) == []
    assert feed.done


def test_unordered_feed_hands_each_result_out_at_once() -> None:
    feed = Feed(iter(["a", "b"]), concurrency=1, ordered=False)
    assert list(feed.starts()) == [(0, "a")]
    assert list(feed.starts()) == []  # one in flight at most
    assert feed.finished(result(0)) == [result(0)]
    assert list(feed.starts()) == [(1, "b")]


def test_a_slow_first_item_bounds_what_is_held_back() -> None:
    feed = Feed(range(10_000), concurrency=2, ordered=True)
    started = list(feed.starts())
    while len(started) > 1:  # every item but the first finishes, as soon as it can
        index, _item = started.pop()
        assert feed.finished(result(index)) == []
        started += feed.starts()
    assert started == [(0, 0)]
    assert feed.running == 1  # no new item starts while 16 results wait for item 0
    assert len(feed.finished(result(0))) == 17


def test_given_indexes_name_the_items_and_order_follows_the_input() -> None:
    feed = Feed(["a", "b", "c"], concurrency=3, ordered=True, indexes=[66, 67, 70])
    assert list(feed.starts()) == [(66, "a"), (67, "b"), (70, "c")]
    assert feed.finished(ItemResult(70, "c")) == []
    assert feed.finished(ItemResult(66, "a")) == [ItemResult(66, "a")]
    assert feed.finished(ItemResult(67, "b")) == [ItemResult(67, "b"), ItemResult(70, "c")]
    assert list(feed.starts()) == []
    assert feed.done


def test_an_index_given_twice_is_refused() -> None:
    feed = Feed(["a", "b"], concurrency=2, ordered=False, indexes=[3, 3])
    with pytest.raises(ValueError, match="index 3 is given to two items"):
        list(feed.starts())


def test_an_items_key_names_its_index_and_its_args() -> None:
    assert item_key("b", 0, {"n": 0}) == item_key("b", 0, {"n": 0})
    assert item_key("b", 0, {"n": 0}) != item_key("b", 0, {"n": 66})  # a resumed item at place 0
    assert item_key("b", 0, {"n": 0}) != item_key("b", 1, {"n": 0})
    assert item_key("b", 0, {"n": 0}) != item_key("c", 0, {"n": 0})
    assert item_key("b", 0, {"a": 1, "b": 2}) == item_key("b", 0, {"b": 2, "a": 1})
    # Binary args by their bytes: two large arrays whose reprs are the same still differ.
    ones, changed = numpy.ones(10_000), numpy.ones(10_000)
    changed[5000] = 2
    assert repr(ones) == repr(changed)
    assert item_key("b", 0, {"v": ones}) != item_key("b", 0, {"v": changed})
    assert item_key("b", 0, {"v": b"ab"}) != item_key("b", 0, {"v": b"ac"})
    assert len(item_key("x" * 64, 10**9, {"n": 1})) <= 255  # the server's key limit


def test_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Feed([], concurrency=0, ordered=True)


def status(kind: type[Any], code: int, type_: str, retry_after: str | None = None) -> Exception:
    headers = httpx.Headers({"Retry-After": retry_after} if retry_after else {})
    return kind(code, type_, "x", headers=headers)


def test_a_503_is_sent_again_after_its_retry_after_even_without_retries() -> None:
    attempts = Attempts(retries=0)
    assert attempts.after(status(Unavailable, 503, "Unavailable", "1")) == 1.0
    assert attempts.after(ConnectError("refused")) is not None
    assert attempts.after(status(ServerError, 502, "BackendUnreachable")) is not None


def test_a_lost_worker_is_retried_only_as_often_as_allowed() -> None:
    died = status(ServerError, 502, "BackendDied")
    assert Attempts(retries=0).after(died) is None
    assert Attempts(retries=0).after(ConnectionLost("lost")) is None
    attempts = Attempts(retries=2)
    assert attempts.after(died) is not None
    assert attempts.after(ConnectionLost("lost")) is not None
    assert attempts.after(died) is None


def test_the_codes_own_failure_is_final() -> None:
    failed = ExecError({"ok": False, "error": {"type": "ValueError", "message": "no"}}, 422)
    assert Attempts(retries=5).after(failed) is None


def test_resends_of_a_server_that_never_comes_back_end() -> None:
    attempts = Attempts(retries=0)
    delays = [attempts.after(ConnectError("refused")) for _ in range(1000)]
    assert None in delays


def test_items_become_args() -> None:
    assert args_of({"n": 1}) == {"n": 1}
    assert args_of(3) == {"item": 3}


def test_default_concurrency_from_health() -> None:
    assert default_concurrency({"status": "ok", "max_queue": 64}) == 16
    gateway = {"backends": [{"healthy": True, "max_queue": 64}, {"healthy": True, "max_queue": 64},
                            {"healthy": False, "max_queue": 64}]}
    assert default_concurrency(gateway) == 32
    assert default_concurrency({"status": "ok"}) >= 1


def test_value_raises_the_items_error() -> None:
    with pytest.raises(ConnectError):
        _ = ItemResult(0, 0, error=ConnectError("x")).value
