"""`Blender` against a real module-mode server. test_async_client.py is its twin: the same
tests, awaited; keep them in step."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from blender_http import (
    AuthError,
    Blender,
    ExecCancelled,
    ExecError,
    ExecTimeout,
    JobNotFinished,
    NotFound,
)
from blender_http_addon.protocol import FILES_PAGE
from tests.blender import servers
from tests.client import expected

pytestmark = pytest.mark.timeout(120)


def test_exec_returns_the_result_and_output(blender: Blender) -> None:
    result = blender.exec(expected.PRINT_AND_COUNT)
    assert result.result == 3
    assert result.stdout == "objects\n"
    assert result.job


def test_args_reach_the_code_as_values(blender: Blender) -> None:
    assert blender.exec("args['name'] * args['n']", args={"name": "ab", "n": 3}).result == "ababab"


def test_a_failed_exec_raises_with_type_line_traceback_stdout(blender: Blender) -> None:
    with pytest.raises(ExecError) as caught:
        blender.exec(expected.FAILING)
    error = caught.value
    assert (error.type, error.line) == ("KeyError", 3)
    assert "Nope" in error.message
    assert error.traceback is not None and '"<exec>", line 3' in error.traceback
    assert error.stdout == "before\n"
    assert error.status == 422


def test_timeout_interrupts_the_code(blender: Blender) -> None:
    with pytest.raises(ExecTimeout) as caught:
        blender.exec("while True:\n    pass", timeout=0.3)
    assert caught.value.type == "Timeout"
    assert blender.exec("1 + 1").result == 2  # Blender is still serving


def test_session_keeps_variables_and_is_deleted_on_exit(blender: Blender) -> None:
    with blender.session("twin-sync") as session:
        session.exec("counter = 41")
        assert session.exec("counter + 1").result == 42
        assert "twin-sync" in [s["name"] for s in blender.sessions()]
    assert "twin-sync" not in [s["name"] for s in blender.sessions()]
    with pytest.raises(NotFound):
        blender.delete_session("twin-sync")


def test_submit_then_result(blender: Blender) -> None:
    job = blender.submit("sum(args['xs'])", args={"xs": [1, 2, 3]})
    assert job.result(timeout=30).result == 6
    assert job.status == "succeeded"
    assert job.id in [info.id for info in blender.jobs(limit=50)]


def test_stream_yields_output_then_done(blender: Blender) -> None:
    job = blender.submit(expected.PRINTS_SLOWLY)
    events = list(job.stream())
    printed = "".join(e.text for e in events if e.kind == "stdout")
    assert printed == "line 0\nline 1\nline 2\n"
    assert events[-1].done and events[-1].to_result().result == "finished"
    assert job.status == "succeeded"


def test_cancel_a_running_job(blender: Blender) -> None:
    job = blender.submit("while True:\n    pass")
    while job.refresh().status == "queued":
        time.sleep(0.01)
    assert job.status == "running"
    assert job.cancel().status in ("cancelled", "running")  # running: not stopped within 1 s
    with pytest.raises(ExecCancelled):
        job.result(timeout=30)


def test_result_gives_up_with_job_not_finished(blender: Blender) -> None:
    job = blender.submit("import time\ntime.sleep(2)")
    with pytest.raises(JobNotFinished):
        job.result(timeout=0)
    assert job.result(timeout=30).result is None


def test_failed_job_result_raises_exec_error(blender: Blender) -> None:
    job = blender.submit(expected.FAILING)
    with pytest.raises(ExecError) as caught:
        job.result(timeout=30)
    assert caught.value.line == 3


def test_files_lists_every_page_in_order(blender: Blender) -> None:
    # More files than the server lists in one page (FILES_PAGE): files() asks for each page.
    made = (blender.exec(expected.make_files("many-sync", FILES_PAGE + 150))).result
    try:
        listed = [f["path"] for f in blender.files() if f["path"].startswith("many-sync/")]
        assert listed == made
    finally:
        blender.exec(expected.remove_folder("many-sync"))


def test_upload_and_download_stream_files(blender: Blender, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(expected.BIG_BLOB)
    assert blender.upload(source, "twin-sync/big.bin") == {"path": "twin-sync/big.bin",
                                                          "size": len(expected.BIG_BLOB)}
    target = tmp_path / "back.bin"
    assert blender.download("twin-sync/big.bin", target) == len(expected.BIG_BLOB)
    assert target.read_bytes() == expected.BIG_BLOB
    seen = blender.exec("import os; os.path.getsize(os.path.join(WORKDIR, 'twin-sync/big.bin'))")
    assert seen.result == len(expected.BIG_BLOB)
    blender.upload(io.BytesIO(b"small"), "twin-sync/small.txt")
    buffer = io.BytesIO()
    blender.download("twin-sync/small.txt", buffer)
    assert buffer.getvalue() == blender.read_bytes("twin-sync/small.txt") == b"small"
    assert {"twin-sync/big.bin", "twin-sync/small.txt"} <= {f["path"] for f in blender.files()}
    blender.delete_file("twin-sync/small.txt")
    with pytest.raises(NotFound):
        blender.download("twin-sync/small.txt", tmp_path / "gone.txt")
    assert not (tmp_path / "gone.txt").exists()


def test_exec_array_comes_back_as_numpy(blender: Blender) -> None:
    array = blender.exec_array(expected.ARANGE)
    assert array.dtype.str == "<f4" and array.shape == (4, 3)
    assert array[3].tolist() == [9.0, 10.0, 11.0]


def test_health(blender: Blender) -> None:
    health = blender.health()
    assert health["status"] == "ok" and health["mode"] == "module"


def test_wrong_token_raises_auth_error(server: servers.Running) -> None:
    with Blender(server.url, token="wrong") as other, pytest.raises(AuthError) as caught:
        other.exec("1")
    assert caught.value.status == 401


def test_unknown_job_raises_not_found(blender: Blender) -> None:
    with pytest.raises(NotFound) as caught:
        blender.job("0000000000000000")
    assert caught.value.type == "NotFound"


def test_url_and_token_default_from_the_environment(server: servers.Running,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.client.conftest import TOKEN

    monkeypatch.setenv("BLENDER_HTTP_URL", server.url)
    monkeypatch.setenv("BLENDER_HTTP_TOKEN", TOKEN)
    with Blender() as default:
        assert default.url == server.url
        assert default.exec("2 * 21").result == 42
