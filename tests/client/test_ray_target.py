"""`on="ray://…"` without a cluster: what the address means, what a worker asks of a node,
and the clear errors of a wrong address or a missing [ray] extra (map and `batch --on`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from blender_http import AsyncBlender, Blender, ConnectError
from blender_http.cli import main
from blender_http.cli.exit_codes import EXIT_UNREACHABLE, EXIT_USAGE
from blender_http.ray.target import BadTarget, RayTarget, parse


def test_auto_and_a_client_address_with_the_default_worker() -> None:
    assert parse("ray://auto") == RayTarget(address=None)
    target = parse("ray://head.example:10001")
    assert target.address == "ray://head.example:10001"
    assert (target.mode, target.num_cpus, target.num_gpus, target.resources) == ("module", 1.0, 0.0,
                                                                                  {"blender": 1.0})


def test_options_say_what_each_worker_reserves() -> None:
    target = parse("ray://auto?mode=background&blender=/opt/blender/blender&cpus=2&gpus=1&resource=render")
    assert target == RayTarget(address=None, mode="background", blender="/opt/blender/blender",
                               num_cpus=2.0, num_gpus=1.0, resource="render")
    assert target.demand() == {"CPU": 2.0, "GPU": 1.0, "render": 1.0}
    assert parse("ray://auto?resource=").demand() == {"CPU": 1.0}


def test_slots_are_what_the_scarcest_resource_allows() -> None:
    target = parse("ray://auto?gpus=1")
    assert target.slots({"CPU": 8.0, "GPU": 2.0, "blender": 3.0}) == 2
    assert target.slots({"CPU": 8.0, "blender": 3.0}) == 0
    assert parse("ray://auto?cpus=0.5").slots({"CPU": 2.0, "blender": 5.0}) == 4


@pytest.mark.parametrize(("on", "says"), [
    ("http://127.0.0.1:7777", "ray://HOST:PORT"),
    ("ray://", "ray://HOST:PORT"),
    ("ray://head", "ray://HOST:PORT"),
    ("ray://head:notaport", "Port could not be cast"),
    ("ray://auto/jobs", "no path"),
    ("ray://auto?gpu=1", "unknown option gpu"),
    ("ray://auto?mode=gui", "mode is module or background"),
    ("ray://auto?cpus=-1", "cpus is a number of at least 0"),
    ("ray://auto?gpus=many", "gpus is a number of at least 0"),
])
def test_a_wrong_address_says_what_is_wrong(on: str, says: str) -> None:
    with pytest.raises(BadTarget, match=says):
        parse(on)


def test_map_refuses_a_wrong_address_before_anything_runs() -> None:
    with Blender("http://127.0.0.1:9") as blender, pytest.raises(BadTarget, match="ray://HOST:PORT"):
        list(blender.map("1", [1], on="http://127.0.0.1:7777"))


def test_without_the_extra_map_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with Blender("http://127.0.0.1:9") as blender, pytest.raises(ConnectError, match=r"blender-http\[ray\]"):
        list(blender.map("1", [1], on="ray://auto"))


async def _async_map_without_ray() -> None:
    async with AsyncBlender("http://127.0.0.1:9") as blender:
        async for _ in blender.map("1", [1], on="ray://auto"):
            pass


def test_without_the_extra_the_async_map_says_so_too(monkeypatch: pytest.MonkeyPatch) -> None:
    import anyio

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ConnectError, match=r"blender-http\[ray\]"):
        anyio.run(_async_map_without_ray)


def _batch(folder: Path, *extra: str) -> tuple[int, str]:
    (folder / "s.py").write_text("args['n']\n")
    (folder / "items.jsonl").write_text('{"n": 1}\n')
    result = CliRunner().invoke(main, ["batch", str(folder / "s.py"), "--items", str(folder / "items.jsonl"),
                                       "--out", str(folder / "out.jsonl"), *extra])
    return result.exit_code, result.output


def test_batch_without_the_extra_exits_3_and_says_how_to_install_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    code, output = _batch(tmp_path, "--on", "ray://auto")
    assert code == EXIT_UNREACHABLE, output
    assert "pip install 'blender-http[ray]'" in output
    assert not (tmp_path / "out.jsonl").read_text()  # nothing ran


@pytest.mark.parametrize(("extra", "says"), [
    (["--on", "ray://head"], "give ray://HOST:PORT"),
    (["--on", "ray://auto", "--url", "http://127.0.0.1:7777"], "--on and --url"),
])
def test_batch_refuses_a_wrong_on_as_a_usage_error(tmp_path: Path, extra: list[str], says: str) -> None:
    code, output = _batch(tmp_path, *extra)
    assert code == EXIT_USAGE, output
    assert says in output


def test_the_client_and_the_cli_never_load_ray_unless_asked() -> None:
    probe = ("import sys, blender_http, blender_http.cli.main, blender_http.cli.commands.batch\n"
             "from blender_http import Blender\n"
             "print(sorted(m for m in sys.modules\n"
             "             if m == 'ray' or m.startswith(('ray.', 'blender_http.ray.'))))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "['blender_http.ray.target']"  # --on's check: the standard library only


class _Cluster:
    """ray's init and shutdown as a cluster answers them: each init raises the next of
    `failures` (None: connected)."""

    def __init__(self, *failures: Exception | None) -> None:
        self.failures = list(failures)
        self.inits = self.shutdowns = 0

    def init(self, **_: object) -> None:
        self.inits += 1
        failure = self.failures.pop(0)
        if failure is not None:
            raise failure

    def shutdown(self) -> None:
        self.shutdowns += 1


def test_a_ray_client_server_that_failed_to_start_is_asked_for_again(monkeypatch: pytest.MonkeyPatch) -> None:
    import blender_http.ray.pool as pool

    monkeypatch.setattr(pool.time, "sleep", lambda seconds: None)
    flaky = _Cluster(RuntimeError(pool.CLIENT_START_FAILED[0] + ". See ray_client_server_23000.err"), None)
    pool._init(flaky, "ray://127.0.0.1:10001")
    assert (flaky.inits, flaky.shutdowns) == (2, 1)
    # The proxy's own words when the server it started died at once (seen in CI).
    zombie = _Cluster(ConnectionError(
        "Initialization failure from server:\nTraceback (most recent call last):\n  File \"proxier.py\", "
        "line 765, in Datapath\n    if not self.proxy_manager.start_specific_server(\n"
        "psutil.ZombieProcess: PID still exists but it's a zombie (pid=5588)"), None)
    pool._init(zombie, "ray://127.0.0.1:10001")
    assert (zombie.inits, zombie.shutdowns) == (2, 1)
    always = _Cluster(*[RuntimeError(pool.CLIENT_START_FAILED[0])] * pool.CLIENT_START_ATTEMPTS)
    with pytest.raises(ConnectError, match="cannot reach the Ray cluster at ray://h:1"):
        pool._init(always, "ray://h:1")
    assert always.inits == pool.CLIENT_START_ATTEMPTS
    unreachable = _Cluster(ConnectionError("no route"))
    with pytest.raises(ConnectError, match="no route"):
        pool._init(unreachable, "ray://h:1")
    assert unreachable.inits == 1  # only a failed server start is worth another try
