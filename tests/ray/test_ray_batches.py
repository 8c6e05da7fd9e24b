"""map(on="ray://…") and `batch --on ray://…` on a Ray cluster of simulated nodes (one
Blender worker per node, module mode): items spread over the nodes; a node removed mid-batch
ends each item once (or again only where retries allow); a node added mid-batch takes
items; a worker restarts its Blender; GPUs are asked for and handed down; results file,
resume and the Ray Client address through the CLI; nothing outlives the batch or the driver.

The tests share one cluster and run in this order: the removals leave fewer nodes."""

from __future__ import annotations

import collections
import getpass
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from blender_http import Blender, ConnectionLost, ServerError
from blender_http.batching import ItemResult
from tests.blender import servers
from tests.conftest import missing
from tests.processes import wait_gone
from tests.ray.conftest import RayCluster

pytestmark = [pytest.mark.blender, pytest.mark.timeout(600)]

# Each run leaves a file named after its item (so a test counts the runs of each item), then
# sleeps, and says where it ran.
CODE = """
import os, pathlib, time, uuid
pathlib.Path(args['runs'], f"{args['n']}-{uuid.uuid4().hex}").touch()
if args.get('die'):
    os._exit(7)
time.sleep(args.get('sleep', 0))
{"n": args["n"], "node": os.environ["BLENDER_HTTP_RAY_NODE"], "pid": os.getpid(), "worker": os.getppid(),
 "gpus": os.environ.get("CUDA_VISIBLE_DEVICES")}
"""
# Items a test hands out while it waits for something to happen, at most.
CAP = 400


def runs(folder: Path) -> collections.Counter[int]:
    """How many times each item started, by its n."""
    return collections.Counter(int(path.name.split("-")[0]) for path in folder.iterdir())


def items_until(stop: Callable[[], bool], runs_folder: Path, sleep: float) -> Iterator[dict[str, Any]]:
    """Items, handed out lazily (map pulls them as slots free up) until stop() is true."""
    for n in range(CAP):
        if stop():
            return
        yield {"n": n, "sleep": sleep, "runs": str(runs_folder)}
    raise AssertionError(f"still waiting after {CAP} items")


def test_items_spread_over_three_nodes_and_the_blenders_end_with_the_batch(
        ray_cluster: RayCluster, tmp_path: Path) -> None:
    nodes: set[str] = set()
    results = []
    with Blender("http://127.0.0.1:9") as blender:
        for result in blender.map(CODE, items_until(lambda: len(nodes) >= 3, tmp_path, 0.3),
                                  on="ray://auto", concurrency=6):
            results.append(result)
            nodes.add(result.value["node"])
            assert result.value["n"] == result.index and result.attempts == 1
    assert nodes == set(ray_cluster.nodes)
    assert [r.index for r in results] == list(range(len(results)))  # in input order
    assert set(runs(tmp_path).values()) == {1}
    assert wait_gone(ray_cluster.blenders()) == []
    folders = Path(tempfile.gettempdir()) / f"blender-http-ray-{getpass.getuser()}"
    assert [str(r.value["worker"]) for r in results if (folders / str(r.value["worker"])).exists()] == []


def test_a_worker_asks_for_its_gpu_and_restarts_its_blender_when_it_dies(
        ray_cluster: RayCluster, tmp_path: Path) -> None:
    items = [{"n": n, "runs": str(tmp_path), "die": n == 1} for n in range(4)]
    with Blender("http://127.0.0.1:9") as blender:
        # gpus=1 and no custom resource: one worker, on the one node with a GPU.
        results = list(blender.map(CODE, items, on="ray://auto?gpus=1&resource=", concurrency=1))
    first, died, *after = results
    assert first.value["node"] == ray_cluster.gpu_node and first.value["gpus"] == "0"
    assert isinstance(died.error, ConnectionLost) and died.attempts == 1
    assert {r.value["node"] for r in after} == {ray_cluster.gpu_node}
    assert {r.value["pid"] for r in after} == {after[0].value["pid"]} != {first.value["pid"]}
    assert not psutil.pid_exists(first.value["pid"]) or \
        psutil.Process(first.value["pid"]).status() == psutil.STATUS_ZOMBIE
    assert runs(tmp_path) == {0: 1, 1: 1, 2: 1, 3: 1}


def test_background_mode_workers_run_blender_b(ray_cluster: RayCluster, tmp_path: Path) -> None:
    why = servers.availability("background")
    if why:
        missing(why)
    code = ("import os, bpy\n"
            "(os.environ['BLENDER_HTTP_RAY_NODE'], os.getpid(), os.path.basename(bpy.app.binary_path))")
    with Blender("http://127.0.0.1:9") as blender:
        results = list(blender.map(code, range(3), on="ray://auto?mode=background&gpus=1&resource="))
    assert [(r.value[0], r.value[2]) for r in results] == [(ray_cluster.gpu_node, "blender")] * 3
    pids = {r.value[1] for r in results}
    assert len(pids) == 1  # one worker, one Blender, all three items
    assert wait_gone(list(pids)) == []  # the batch is over: its Blender is gone


def test_a_worker_that_cannot_start_fails_the_items_with_the_reason(ray_cluster: RayCluster) -> None:
    on = "ray://auto?mode=background&blender=/nowhere/blender&gpus=1&resource="
    with Blender("http://127.0.0.1:9") as blender:
        results = list(blender.map("1", range(2), on=on))
    for result in results:
        assert isinstance(result.error, ServerError) and result.error.type == "WorkerStartFailed"
        assert "/nowhere/blender is not an executable file" in result.error.message
        assert result.attempts == 1


def _remove_mid_batch(ray_cluster: RayCluster, runs_folder: Path,
                      retries: int) -> tuple[str, list[ItemResult]]:
    """Run items of 2 s until every node ran one, then remove a node (never the GPU one)
    while it runs its next item; 6 more items after that. The removed node and the results."""
    victim = next(node for node in ray_cluster.nodes if node != ray_cluster.gpu_node)
    nodes: set[str] = set()
    removed = threading.Event()
    handed_after: list[int] = []

    def remove() -> None:
        ray_cluster.remove(victim)
        removed.set()

    def stop() -> bool:
        if removed.is_set():
            handed_after.append(1)
        return len(handed_after) > 6

    def seen(result: ItemResult) -> None:
        if result.ok:
            nodes.add(result.value["node"])
        if nodes == set(ray_cluster.nodes) and not removing:
            removing.append(threading.Thread(target=remove))
            removing[0].start()

    removing: list[threading.Thread] = []
    with Blender("http://127.0.0.1:9") as blender:
        results = list(blender.map(CODE, items_until(stop, runs_folder, 2.0), on="ray://auto", concurrency=6,
                                   retries=retries, ordered=False, on_result=seen))
    removing[0].join()
    assert sorted(r.index for r in results) == list(range(len(results)))  # each item ends once
    return victim, results


def test_a_node_removed_mid_batch_ends_each_item_once(ray_cluster: RayCluster, tmp_path: Path) -> None:
    victim, results = _remove_mid_batch(ray_cluster, tmp_path, retries=0)
    failed = [r for r in results if not r.ok]
    assert failed, "the removed node was running an item"
    for result in failed:
        assert isinstance(result.error, ConnectionLost) and result.attempts == 1
        assert victim in str(result.error)
    started = runs(tmp_path)
    assert {started[r.index] for r in results if r.ok} == {1}
    assert {started[r.index] for r in failed} <= {0, 1}  # ran at most once, and was not finished


def test_a_node_added_mid_batch_takes_items(ray_cluster: RayCluster, tmp_path: Path) -> None:
    added: list[str] = []
    nodes: set[str] = set()

    def seen(result: ItemResult) -> None:
        nodes.add(result.value["node"])
        if not added:  # on this, the main, thread: a node starts with signal handlers of its own
            added.append(ray_cluster.add())

    with Blender("http://127.0.0.1:9") as blender:
        items = items_until(lambda: bool(added) and added[0] in nodes, tmp_path, 0.5)
        results = list(blender.map(CODE, items, on="ray://auto", concurrency=6, ordered=False,
                                   on_result=seen))
    assert all(r.ok for r in results)
    assert added[0] in {r.value["node"] for r in results}
    assert set(runs(tmp_path).values()) == {1}


def test_with_retries_an_item_whose_node_was_removed_runs_again_elsewhere(
        ray_cluster: RayCluster, tmp_path: Path) -> None:
    victim, results = _remove_mid_batch(ray_cluster, tmp_path, retries=1)
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    retried = [r for r in results if r.attempts == 2]
    assert retried, "the removed node was running an item"
    assert victim not in {r.value["node"] for r in retried}
    started = runs(tmp_path)
    assert {started[r.index] for r in results if r.attempts == 1} == {1}
    # The removed node may have taken the item without starting it yet: once or twice, never more.
    assert {started[r.index] for r in retried} <= {1, 2}


def _cli(folder: Path, on: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "blender_http", "batch", str(folder / "s.py"),
                             "--items", str(folder / "items.jsonl"), "--out", str(folder / "out.jsonl"),
                             "--on", on], env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _batch_folder(folder: Path, count: int, sleep: float) -> Path:
    (folder / "runs").mkdir()
    (folder / "s.py").write_text(CODE)
    (folder / "items.jsonl").write_text("".join(
        json.dumps({"n": n, "sleep": sleep, "runs": str(folder / "runs")}) + "\n" for n in range(count)))
    return folder


def test_batch_through_a_ray_client_address_keeps_its_results_file_and_resumes(
        ray_cluster: RayCluster, tmp_path: Path) -> None:
    folder = _batch_folder(tmp_path, 6, 0.0)
    on = f"ray://127.0.0.1:{ray_cluster.client_port}"
    first = _cli(folder, on)
    output = first.communicate(timeout=300)[0].decode()
    assert first.returncode == 0, output
    lines = [json.loads(line) for line in (folder / "out.jsonl").read_text().splitlines()]
    assert sorted(line["index"] for line in lines) == list(range(6))
    assert all(line["ok"] and line["result"]["n"] == line["index"] for line in lines)
    assert {line["result"]["node"] for line in lines} <= set(ray_cluster.nodes)
    # Keep three results, as if the batch had stopped there: the rerun runs the other three.
    kept = [line for line in lines if line["index"] < 3]
    (folder / "out.jsonl").write_text("".join(json.dumps(line) + "\n" for line in kept))
    second = _cli(folder, on)
    output = second.communicate(timeout=300)[0].decode()
    assert second.returncode == 0, output
    assert "6/6 items done, 6 succeeded, 0 failed (3 done by an earlier run)" in output
    lines = [json.loads(line) for line in (folder / "out.jsonl").read_text().splitlines()]
    assert sorted(line["index"] for line in lines) == list(range(6))
    assert runs(folder / "runs") == {0: 1, 1: 1, 2: 1, 3: 2, 4: 2, 5: 2}


@pytest.mark.parametrize("through", ["driver", "ray client"])
def test_when_the_driver_dies_its_workers_and_their_blenders_go(ray_cluster: RayCluster, tmp_path: Path,
                                                                through: str) -> None:
    folder = _batch_folder(tmp_path, 2, 600.0)
    before = set(ray_cluster.blenders())
    if through == "driver":
        driver = _cli(folder, "ray://auto", {"RAY_ADDRESS": ray_cluster.address})
    else:  # Ray ends a client's session once its reconnect grace period (30 s by default) is over
        driver = _cli(folder, f"ray://127.0.0.1:{ray_cluster.client_port}",
                      {"RAY_CLIENT_RECONNECT_GRACE_PERIOD": "2"})
    try:
        deadline = time.monotonic() + 180
        while not any((folder / "runs").iterdir()):  # an item runs in a Blender
            assert driver.poll() is None, driver.communicate()[0].decode()
            assert time.monotonic() < deadline, "no item started"
            time.sleep(0.2)
        blenders = [pid for pid in ray_cluster.blenders() if pid not in before]
        actors = [psutil.Process(pid).ppid() for pid in blenders]
        assert blenders and all(pid > 1 for pid in actors)
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    assert wait_gone(blenders + actors) == []
