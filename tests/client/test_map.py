"""Blender.map and AsyncBlender.map against a real module-mode server."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import httpx
import pytest

from blender_http import AsyncBlender, Blender, ConnectionLost, ExecError
from blender_http.batching import ItemResult
from tests.blender import servers
from tests.client.conftest import TOKEN

pytestmark = [pytest.mark.blender, pytest.mark.timeout(180)]

SQUARE = "if args['n'] == 7:\n    raise ValueError('seven')\nargs['n'] ** 2"
# Appends a line per run to a file named by the item; the result is how many runs it saw.
COUNTING = ("name = WORKDIR + '/map-' + args['tag']\nwith open(name, 'a') as f:\n    f.write('ran\\n')\n"
            "len(open(name).readlines())")


def test_map_runs_every_item_in_order_and_one_failure_stops_nothing(blender: Blender) -> None:
    seen: list[int] = []
    results = list(blender.map(SQUARE, [{"n": n} for n in range(40)], concurrency=6,
                               on_result=lambda r: seen.append(r.index)))
    assert [r.index for r in results] == seen == list(range(40))
    assert [r.value for r in results if r.index != 7] == [n * n for n in range(40) if n != 7]
    failed = results[7]
    assert not failed.ok and isinstance(failed.error, ExecError)
    assert failed.error.type == "ValueError" and failed.attempts == 1


def test_a_rerun_over_the_items_left_gets_each_items_own_result(blender: Blender) -> None:
    # The same batch_key over the items an earlier run left: with their original indexes, and
    # numbered from 0 again (what a resumed batch used to do), each item gets its own value.
    key = uuid.uuid4().hex
    items = [{"n": n} for n in range(30)]
    first = list(blender.map("args['n'] ** 2", items, batch_key=key))
    assert [(r.index, r.value) for r in first] == [(n, n * n) for n in range(30)]
    resumed = list(blender.map("args['n'] ** 2", items[10:], batch_key=key, indexes=range(10, 30),
                               ordered=False))
    assert {r.index: (r.item, r.value) for r in resumed} == {n: ({"n": n}, n * n) for n in range(10, 30)}
    renumbered = list(blender.map("args['n'] ** 2", items[10:], batch_key=key))
    assert [(r.index, r.value) for r in renumbered] == [(i, (i + 10) ** 2) for i in range(20)]
    # With their own indexes they were answered from the first run's jobs, not run again.
    assert {r.index: r.result.job for r in resumed if r.result} == \
        {r.index: r.result.job for r in first[10:] if r.result}


def test_map_defaults_its_concurrency_from_health_and_wraps_plain_items(blender: Blender) -> None:
    results = list(blender.map("args['item'] * 2", range(100)))
    assert [r.value for r in results] == [n * 2 for n in range(100)]


@pytest.mark.anyio
async def test_async_map_yields_as_they_finish(ablender: AsyncBlender) -> None:
    results = [r async for r in ablender.map(SQUARE, ({"n": n} for n in range(30)), concurrency=4,
                                             ordered=False)]
    assert sorted(r.index for r in results) == list(range(30))
    assert {r.index: r.ok for r in results}[7] is False
    assert sum(r.ok for r in results) == 29


class DropsFirstAnswers(httpx.HTTPTransport):
    """Sends every request, but loses the answer to the first send of each idempotency key:
    the code ran on the server, the client never heard (a connection lost mid-answer)."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: set[str] = set()
        self.lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        key = request.headers.get("Idempotency-Key")
        with self.lock:
            first = key is not None and key not in self.keys
            self.keys.add(key or "")
        if first:
            response.read()
            response.close()
            raise httpx.ReadError("connection reset by peer (simulated)")
        return response


def run_counting(server: servers.Running, tag: str, **options: Any) -> list[ItemResult]:
    items = [{"tag": f"{tag}-{n}"} for n in range(10)]
    with Blender(server.url, token=TOKEN, transport=DropsFirstAnswers()) as blender:
        return list(blender.map(COUNTING, items, concurrency=3, **options))


def test_a_retry_after_a_lost_answer_never_runs_the_item_twice(server: servers.Running) -> None:
    results = run_counting(server, uuid.uuid4().hex, retries=1)
    assert [r.value for r in results] == [1] * 10  # each item's file has one line: one run
    assert {r.attempts for r in results} == {2}


def test_without_retries_a_lost_answer_is_the_items_error(server: servers.Running) -> None:
    results = run_counting(server, uuid.uuid4().hex)
    assert all(isinstance(r.error, ConnectionLost) for r in results)
