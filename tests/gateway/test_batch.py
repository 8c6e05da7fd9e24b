"""`blender-http batch` with 1,000 items through `gateway --spawn 2`: one line per item; a
worker killed mid-batch (SIGKILL, by its pid) costs nothing with --retries and ends its items
as errors without; an interrupted batch resumes with only the missing items."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.gateway import gateways
from tests.gateway.conftest import KEY, _needs_module_mode

pytestmark = pytest.mark.timeout(600)

ITEMS = 1000
DEADLINE_S = 300.0
# Each run appends its item's number to a log shared by both workers: it counts the runs.
SCRIPT = ("import time\ntime.sleep(0.003)\nwith open(args['log'], 'a') as f:\n"
          "    f.write(str(args['n']) + '\\n')\nargs['n'] * 2\n")


@pytest.fixture(scope="module")
def spawned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[gateways.Gateway]:
    _needs_module_mode()
    running = gateways.start(tmp_path_factory.mktemp("batch-gw"), "--spawn", "2", key=KEY)
    yield running
    running.stop()


@pytest.fixture
def folder(tmp_path: Path, spawned: gateways.Gateway) -> Path:
    wait_for(lambda: health(spawned)["healthy"] == 2, "both workers healthy")
    (tmp_path / "s.py").write_text(SCRIPT)
    log = str(tmp_path / "runs.log")
    (tmp_path / "items.jsonl").write_text("".join(json.dumps({"n": n, "log": log}) + "\n"
                                                  for n in range(ITEMS)))
    return tmp_path


def health(gateway: gateways.Gateway) -> dict[str, Any]:
    with gateway.client() as client:
        data: dict[str, Any] = client.get("/health").json()
    return data


def wait_for(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def start_batch(gateway: gateways.Gateway, folder: Path, *extra: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLENDER_HTTP_")}
    return subprocess.Popen(
        [sys.executable, "-m", "blender_http", "batch", str(folder / "s.py"), "--items",
         str(folder / "items.jsonl"), "--out", str(folder / "out.jsonl"), "--url", gateway.url,
         "--token", KEY, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    _out, err = proc.communicate(timeout=DEADLINE_S)
    return proc.returncode, err


def records(folder: Path) -> list[dict[str, Any]]:
    out = folder / "out.jsonl"
    found = []
    for line in out.read_text().splitlines() if out.exists() else []:
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found


def runs(folder: Path) -> collections.Counter[int]:
    return collections.Counter(int(n) for n in (folder / "runs.log").read_text().split())


def assert_one_line_per_item(folder: Path) -> list[dict[str, Any]]:
    found = records(folder)
    assert sorted(r["index"] for r in found) == list(range(ITEMS))
    return found


def kill_a_worker_mid_batch(gateway: gateways.Gateway, folder: Path, proc: subprocess.Popen[str]) -> None:
    """SIGKILL, by its pid, a worker with items in flight once a fifth of the batch is done."""
    wait_for(lambda: len(records(folder)) >= ITEMS // 5 or proc.poll() is not None, "a fifth of the batch")
    busy: list[dict[str, Any]] = []

    def a_busy_worker() -> bool:
        busy[:] = [b for b in health(gateway)["backends"] if b["healthy"] and b["inflight"]]
        return bool(busy) or proc.poll() is not None

    wait_for(a_busy_worker, "a worker with items in flight")
    assert proc.poll() is None, "the batch ended before a worker could be killed"
    os.kill(int(max(busy, key=lambda b: b["inflight"])["pid"]), signal.SIGKILL)


def test_a_batch_of_1000_has_one_line_per_item(spawned: gateways.Gateway, folder: Path) -> None:
    code, err = finish(start_batch(spawned, folder))
    assert code == 0, err
    found = assert_one_line_per_item(folder)
    assert all(r["ok"] and r["result"] == r["item"]["n"] * 2 for r in found)
    assert set(runs(folder).values()) == {1}
    assert "1000/1000 items done, 1000 succeeded, 0 failed" in err


def test_a_killed_worker_costs_nothing_with_retries(spawned: gateways.Gateway, folder: Path) -> None:
    proc = start_batch(spawned, folder, "--retries", "2")
    kill_a_worker_mid_batch(spawned, folder, proc)
    code, err = finish(proc)
    assert code == 0, err
    assert all(r["ok"] for r in assert_one_line_per_item(folder))
    assert any(r["attempts"] > 1 for r in records(folder)), "no item was in flight on the killed worker"


def test_without_retries_the_killed_workers_items_are_errors(spawned: gateways.Gateway, folder: Path) -> None:
    proc = start_batch(spawned, folder)
    kill_a_worker_mid_batch(spawned, folder, proc)
    code, err = finish(proc)
    assert code == 1, err
    failed = [r for r in assert_one_line_per_item(folder) if not r["ok"]]
    assert failed and {r["error"]["type"] for r in failed} <= {"BackendDied", "ConnectionLost"}
    assert f"{len(failed)} failed" in err


def test_an_interrupted_batch_resumes_with_only_the_missing_items(spawned: gateways.Gateway,
                                                                  folder: Path) -> None:
    proc = start_batch(spawned, folder)
    wait_for(lambda: len(records(folder)) >= ITEMS // 4 or proc.poll() is not None, "a quarter done")
    proc.send_signal(signal.SIGINT)
    code, err = finish(proc)
    assert code == 130, err
    done_first = len(records(folder))
    assert done_first < ITEMS
    code, err = finish(start_batch(spawned, folder))
    assert code == 0, err
    assert_one_line_per_item(folder)
    assert f"({done_first} done by an earlier run); {ITEMS - done_first} ran" in err
    # Items in flight when interrupted finished on their worker, which answered the rerun
    # from its memory of their Idempotency-Keys: no item ran twice.
    assert set(runs(folder).values()) == {1}
