"""`blender-http batch` against the real module-mode server: one result line per item,
the exit code, resuming, a torn last line, bad items."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from blender_http.cli import main
from tests.blender import servers
from tests.client.conftest import TOKEN

pytestmark = [pytest.mark.blender, pytest.mark.timeout(180)]

SCRIPT = "if args['n'] == 13:\n    raise ValueError('thirteen')\nprint('n is', args['n'])\nargs['n'] * 3\n"


def batch(server: servers.Running, folder: Path, *extra: str) -> Result:
    return CliRunner().invoke(main, ["batch", str(folder / "s.py"), "--items", str(folder / "items.jsonl"),
                                     "--out", str(folder / "out.jsonl"), "--url", server.url,
                                     "--token", TOKEN, *extra])


def lines(folder: Path) -> list[dict[str, Any]]:
    """The readable result lines (a torn one, cut off by a crash, is not)."""
    records = []
    for line in (folder / "out.jsonl").read_text().splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "s.py").write_text(SCRIPT)
    (tmp_path / "items.jsonl").write_text("".join(json.dumps({"n": n}) + "\n" for n in range(60)))
    return tmp_path


def test_one_line_per_item_and_exit_1_when_one_failed(server: servers.Running, folder: Path) -> None:
    result = batch(server, folder, "--concurrency", "5")
    assert result.exit_code == 1, result.output
    records = lines(folder)
    assert sorted(r["index"] for r in records) == list(range(60))
    by_index = {r["index"]: r for r in records}
    assert by_index[4] == {**by_index[4], "ok": True, "result": 12, "stdout": "n is 4\n", "item": {"n": 4}}
    assert by_index[13]["ok"] is False and by_index[13]["error"]["type"] == "ValueError"
    assert "60/60 items done, 59 succeeded, 1 failed" in result.stderr
    assert "item 13" in result.stderr


def test_a_rerun_skips_what_is_done_and_retry_failed_runs_the_failures(server: servers.Running,
                                                                       folder: Path) -> None:
    batch(server, folder)
    again = batch(server, folder)
    assert again.exit_code == 1  # the failed item still counts
    assert "0 ran" in again.stderr and len(lines(folder)) == 60
    (folder / "s.py").write_text("args['n'] * 3\n")
    fixed = batch(server, folder, "--retry-failed")
    assert fixed.exit_code == 0, fixed.output
    assert "1 ran" in fixed.stderr
    assert sorted(r["index"] for r in lines(folder)) == list(range(60))
    assert all(r["ok"] for r in lines(folder))


def test_a_torn_last_line_is_run_again(server: servers.Running, folder: Path) -> None:
    (folder / "items.jsonl").write_text("".join(json.dumps({"n": n}) + "\n" for n in range(20, 25)))
    done = [json.dumps({"index": i, "item": {"n": 20 + i}, "ok": True, "result": 0}) for i in range(3)]
    (folder / "out.jsonl").write_text("\n".join(done) + "\n" + '{"index": 3, "item": {"n"')
    result = batch(server, folder)
    assert result.exit_code == 0, result.output
    assert sorted(r["index"] for r in lines(folder)) == [0, 1, 2, 3, 4]
    assert "2 ran" in result.stderr


SQUARES = "import time\ntime.sleep(0.01)\nargs['n'] * args['n']\n"


def assert_each_items_own_result(folder: Path, count: int) -> None:
    """One line per item, and each line holds that item's own result (not another's)."""
    records = lines(folder)
    assert sorted(r["index"] for r in records) == list(range(count))
    wrong = [(r["index"], r["item"], r.get("result")) for r in records
             if r["item"] != {"n": r["index"]} or r.get("result") != r["index"] ** 2 or not r["ok"]]
    assert wrong == []


def test_a_rerun_after_a_results_file_cut_short_writes_each_items_own_result(
        server: servers.Running, folder: Path) -> None:
    (folder / "s.py").write_text(SQUARES)
    (folder / "items.jsonl").write_text("".join(json.dumps({"n": n}) + "\n" for n in range(150)))
    assert batch(server, folder, "--concurrency", "8").exit_code == 0
    assert_each_items_own_result(folder, 150)
    # Cut the finished file to its first 60 lines, in place: the same batch key, and the
    # server still holds every item's job under it.
    with (folder / "out.jsonl").open("r+") as out:
        kept = "".join(out.readlines()[:60])
        out.seek(0)
        out.write(kept)
        out.truncate()
    resumed = batch(server, folder, "--concurrency", "8")
    assert resumed.exit_code == 0, resumed.output
    assert "90 ran" in resumed.stderr
    assert_each_items_own_result(folder, 150)


def test_a_batch_interrupted_by_ctrl_c_resumes_with_each_items_own_result(
        server: servers.Running, folder: Path) -> None:
    (folder / "s.py").write_text(SQUARES)
    (folder / "items.jsonl").write_text("".join(json.dumps({"n": n}) + "\n" for n in range(150)))
    command = [sys.executable, "-m", "blender_http", "batch", str(folder / "s.py"), "--items",
               str(folder / "items.jsonl"), "--out", str(folder / "out.jsonl"), "--url", server.url,
               "--token", TOKEN, "--concurrency", "4"]
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 60
        while len(lines(folder) if (folder / "out.jsonl").exists() else []) < 20:
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    done_first = len(lines(folder))
    assert 20 <= done_first < 150
    resumed = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{150 - done_first} ran" in resumed.stderr
    assert_each_items_own_result(folder, 150)


def test_a_result_line_of_another_item_at_its_index_does_not_count_as_done(
        server: servers.Running, folder: Path) -> None:
    (folder / "s.py").write_text(SQUARES)
    (folder / "items.jsonl").write_text("".join(json.dumps({"n": n}) + "\n" for n in range(3)))
    # A line for index 1 that names another item (the items file was edited since).
    stale = {"index": 1, "item": {"n": 9}, "ok": True, "result": 81}
    (folder / "out.jsonl").write_text(json.dumps(stale) + "\n")
    result = batch(server, folder)
    assert result.exit_code == 0, result.output
    assert "1 line(s)" in result.stderr and "3 ran" in result.stderr
    assert {r["index"]: r["result"] for r in lines(folder) if r["item"] == {"n": r["index"]}} == \
        {0: 0, 1: 1, 2: 4}


def test_items_that_are_not_json_lines_are_a_usage_error(server: servers.Running, folder: Path) -> None:
    (folder / "items.jsonl").write_text('{"n": 1}\nnot json\n')
    result = batch(server, folder)
    assert result.exit_code == 2
    assert "items.jsonl:2: not JSON" in result.output


def test_an_unreachable_server_is_exit_3(folder: Path) -> None:
    result = CliRunner().invoke(main, ["batch", str(folder / "s.py"), "--items", str(folder / "items.jsonl"),
                                       "--out", str(folder / "out.jsonl"), "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 3, result.output
