"""Choosing a worker without Blender: least busy, session owners, job ids, DNS expansion."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from blender_http_gateway.errors import GatewayError
from blender_http_gateway.metrics import Metrics
from blender_http_gateway.workers import backends as backends_module
from blender_http_gateway.workers import choice, jobids
from blender_http_gateway.workers.backends import Backend, BackendPool, expand


def pool_of(*keys: str, healthy: bool = True) -> BackendPool:
    pool = BackendPool(urls=(), token=None, health_interval=1,
                       dns_interval=10, metrics=Metrics(), kill_after=30)
    for key in keys:
        pool.add(Backend(key=key, url=key, healthy=healthy))
    return pool


def test_least_busy_prefers_the_idle_backend() -> None:
    pool = pool_of("http://a:1", "http://b:1", "http://c:1")
    pool.get("http://a:1").inflight = 2  # type: ignore[union-attr]
    pool.get("http://b:1").queued = 1  # type: ignore[union-attr]
    assert choice.least_busy(pool).key == "http://c:1"


def test_no_healthy_backend_is_503() -> None:
    with pytest.raises(GatewayError) as caught:
        choice.least_busy(pool_of("http://a:1", healthy=False))
    assert caught.value.status == 503
    assert "no healthy backend" in caught.value.message


def test_sessions_move_only_when_their_backend_leaves() -> None:
    keys = [f"http://10.0.0.{i}:7777" for i in range(1, 6)]
    full = pool_of(*keys)
    before = {f"s{i}": choice.session_owner(full, f"s{i}").key for i in range(500)}
    assert len(set(before.values())) == 5  # spread over every backend
    smaller = pool_of(*keys[:-1])
    after = {name: choice.session_owner(smaller, name).key for name in before}
    moved = {name for name in before if before[name] != after[name]}
    assert moved == {name for name, key in before.items() if key == keys[-1]}
    # Order of discovery does not matter: two gateway replicas agree.
    reordered = pool_of(*reversed(keys))
    assert before == {n: choice.session_owner(reordered, n).key for n in before}


def test_a_session_whose_backend_is_down_is_refused_not_moved() -> None:
    pool = pool_of("http://a:1", "http://b:1")
    owner = choice.session_owner(pool, "keep")
    owner.healthy = False
    with pytest.raises(GatewayError) as caught:
        choice.session_owner(pool, "keep")
    assert caught.value.status == 503


def test_job_ids_name_their_backend() -> None:
    pool = pool_of("http://10.1.2.3:7777", "spawn-0")
    for key in ("http://10.1.2.3:7777", "spawn-0"):
        global_id = jobids.job_id(pool.get(key), "3f9c2d1e0a4b5c6d")  # type: ignore[arg-type]
        backend, local = choice.job_backend(pool, global_id)
        assert (backend.key, local) == (key, "3f9c2d1e0a4b5c6d")
        assert "/" not in global_id
    for bad in ("3f9c2d1e0a4b5c6d", "aHR0cDovL2V2aWw6ODA.1234", "!!.12"):
        with pytest.raises(GatewayError) as caught:
            choice.job_backend(pool, bad)
        assert caught.value.status == 404


def test_dns_names_expand_to_one_backend_per_address(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {"workers": ["10.0.0.7", "10.0.0.5", "10.0.0.6"], "single": ["10.0.0.9"],
               "dual": ["10.0.0.8", "fd00::8"]}

    async def getaddrinfo(host: str, port: int, **kwargs: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in answers[host]]

    loop = asyncio.new_event_loop()
    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    try:
        run = loop.run_until_complete
        assert run(expand("http://workers:7777")) == [
            "http://10.0.0.5:7777", "http://10.0.0.6:7777", "http://10.0.0.7:7777"]
        assert run(expand("http://single:7777")) == ["http://10.0.0.9:7777"]
        assert run(expand("http://dual:7777")) == ["http://10.0.0.8:7777"]
        for fixed in ("http://localhost:7777", "http://127.0.0.1:7777", "https://workers:7777"):
            assert run(expand(fixed)) == [fixed]
    finally:
        loop.close()


def test_pool_follows_dns_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    current: list[list[str] | None] = [["http://10.0.0.1:7777", "http://10.0.0.2:7777"]]

    async def fake_expand(url: str) -> list[str]:
        if current[0] is None:
            raise OSError("Temporary failure in name resolution")
        return current[0]

    monkeypatch.setattr(backends_module, "expand", fake_expand)

    async def scenario() -> list[list[str]]:
        pool = BackendPool(urls=("http://workers:7777",), token=None,
                           health_interval=1, dns_interval=10, metrics=Metrics(), kill_after=30)
        seen = []
        await pool.resolve()
        seen.append(sorted(pool.backends))
        current[0] = ["http://10.0.0.2:7777", "http://10.0.0.3:7777"]
        await pool.resolve()
        seen.append(sorted(pool.backends))
        current[0] = None  # a failed look-up keeps the last answer
        await pool.resolve()
        seen.append(sorted(pool.backends))
        return seen

    assert asyncio.run(scenario()) == [["http://10.0.0.1:7777", "http://10.0.0.2:7777"],
                                       ["http://10.0.0.2:7777", "http://10.0.0.3:7777"],
                                       ["http://10.0.0.2:7777", "http://10.0.0.3:7777"]]


def test_a_storm_of_503s_checks_a_worker_once_per_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every 503 asks for the worker's health (it may be stopping), but a full queue answers
    503 to every request: the checks come one at a time, and not again within
    RECHECK_AFTER_S of the last one's end."""
    pool = pool_of("http://a:1")
    backend = pool.get("http://a:1")
    assert backend is not None
    checks: list[Backend] = []

    async def check(checked: Backend) -> None:
        checks.append(checked)
        await asyncio.sleep(0.01)

    monkeypatch.setattr(pool, "check", check)
    monkeypatch.setattr(backends_module, "RECHECK_AFTER_S", 0.2)

    async def storm() -> list[object]:
        first = [pool.check_soon(backend) for _ in range(50)]  # while the first check runs
        assert first[0] is not None
        await first[0]
        during = [pool.check_soon(backend) for _ in range(50)]  # within the interval after it
        await asyncio.sleep(0.25)
        after = pool.check_soon(backend)
        assert after is not None
        await after
        return [*first, *during, after]

    tasks = asyncio.run(storm())
    assert checks == [backend, backend]
    assert all(task is tasks[0] for task in tasks[:50])
    assert tasks[50:100] == [None] * 50
    assert tasks[100] is not tasks[0]
    assert pool_of("http://b:1").check_soon(Backend(key="spawn-1", url=None)) is None
