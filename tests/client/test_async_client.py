"""`AsyncBlender` against a real module-mode server: the twin of test_sync_client.py, the
same tests awaited; keep them in step."""

from __future__ import annotations

import io
from pathlib import Path

import anyio
import pytest

from blender_http import (
    AsyncBlender,
    AuthError,
    ExecCancelled,
    ExecError,
    ExecTimeout,
    JobNotFinished,
    NotFound,
)
from blender_http_addon.protocol import FILES_PAGE
from tests.blender import servers
from tests.client import expected

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]


async def test_exec_returns_the_result_and_output(ablender: AsyncBlender) -> None:
    result = await ablender.exec(expected.PRINT_AND_COUNT)
    assert result.result == 3
    assert result.stdout == "objects\n"
    assert result.job


async def test_args_reach_the_code_as_values(ablender: AsyncBlender) -> None:
    result = await ablender.exec("args['name'] * args['n']", args={"name": "ab", "n": 3})
    assert result.result == "ababab"


async def test_a_failed_exec_raises_with_type_line_traceback_stdout(ablender: AsyncBlender) -> None:
    with pytest.raises(ExecError) as caught:
        await ablender.exec(expected.FAILING)
    error = caught.value
    assert (error.type, error.line) == ("KeyError", 3)
    assert "Nope" in error.message
    assert error.traceback is not None and '"<exec>", line 3' in error.traceback
    assert error.stdout == "before\n"
    assert error.status == 422


async def test_timeout_interrupts_the_code(ablender: AsyncBlender) -> None:
    with pytest.raises(ExecTimeout) as caught:
        await ablender.exec("while True:\n    pass", timeout=0.3)
    assert caught.value.type == "Timeout"
    assert (await ablender.exec("1 + 1")).result == 2  # Blender is still serving


async def test_session_keeps_variables_and_is_deleted_on_exit(ablender: AsyncBlender) -> None:
    async with ablender.session("twin-async") as session:
        await session.exec("counter = 41")
        assert (await session.exec("counter + 1")).result == 42
        assert "twin-async" in [s["name"] for s in await ablender.sessions()]
    assert "twin-async" not in [s["name"] for s in await ablender.sessions()]
    with pytest.raises(NotFound):
        await ablender.delete_session("twin-async")


async def test_submit_then_result(ablender: AsyncBlender) -> None:
    job = await ablender.submit("sum(args['xs'])", args={"xs": [1, 2, 3]})
    assert (await job.result(timeout=30)).result == 6
    assert job.status == "succeeded"
    assert job.id in [info.id for info in await ablender.jobs(limit=50)]


async def test_stream_yields_output_then_done(ablender: AsyncBlender) -> None:
    job = await ablender.submit(expected.PRINTS_SLOWLY)
    events = [event async for event in job.stream()]
    printed = "".join(e.text for e in events if e.kind == "stdout")
    assert printed == "line 0\nline 1\nline 2\n"
    assert events[-1].done and events[-1].to_result().result == "finished"
    assert job.status == "succeeded"


async def test_cancel_a_running_job(ablender: AsyncBlender) -> None:
    job = await ablender.submit("while True:\n    pass")
    while (await job.refresh()).status == "queued":
        await anyio.sleep(0.01)
    assert job.status == "running"
    assert (await job.cancel()).status in ("cancelled", "running")  # running: not stopped within 1 s
    with pytest.raises(ExecCancelled):
        await job.result(timeout=30)


async def test_result_gives_up_with_job_not_finished(ablender: AsyncBlender) -> None:
    job = await ablender.submit("import time\ntime.sleep(2)")
    with pytest.raises(JobNotFinished):
        await job.result(timeout=0)
    assert (await job.result(timeout=30)).result is None


async def test_failed_job_result_raises_exec_error(ablender: AsyncBlender) -> None:
    job = await ablender.submit(expected.FAILING)
    with pytest.raises(ExecError) as caught:
        await job.result(timeout=30)
    assert caught.value.line == 3


async def test_files_lists_every_page_in_order(ablender: AsyncBlender) -> None:
    # More files than the server lists in one page (FILES_PAGE): files() asks for each page.
    made = (await ablender.exec(expected.make_files("many-async", FILES_PAGE + 150))).result
    try:
        listed = [f["path"] for f in await ablender.files() if f["path"].startswith("many-async/")]
        assert listed == made
    finally:
        await ablender.exec(expected.remove_folder("many-async"))


async def test_upload_and_download_stream_files(ablender: AsyncBlender, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(expected.BIG_BLOB)
    assert await ablender.upload(source, "twin-async/big.bin") == {"path": "twin-async/big.bin",
                                                                  "size": len(expected.BIG_BLOB)}
    target = tmp_path / "back.bin"
    assert await ablender.download("twin-async/big.bin", target) == len(expected.BIG_BLOB)
    assert target.read_bytes() == expected.BIG_BLOB
    seen = await ablender.exec(
        "import os; os.path.getsize(os.path.join(WORKDIR, 'twin-async/big.bin'))")
    assert seen.result == len(expected.BIG_BLOB)
    await ablender.upload(io.BytesIO(b"small"), "twin-async/small.txt")
    buffer = io.BytesIO()
    await ablender.download("twin-async/small.txt", buffer)
    assert buffer.getvalue() == await ablender.read_bytes("twin-async/small.txt") == b"small"
    assert {"twin-async/big.bin", "twin-async/small.txt"} <= {f["path"] for f in await ablender.files()}
    await ablender.delete_file("twin-async/small.txt")
    with pytest.raises(NotFound):
        await ablender.download("twin-async/small.txt", tmp_path / "gone.txt")
    assert not (tmp_path / "gone.txt").exists()


async def test_exec_array_comes_back_as_numpy(ablender: AsyncBlender) -> None:
    array = await ablender.exec_array(expected.ARANGE)
    assert array.dtype.str == "<f4" and array.shape == (4, 3)
    assert array[3].tolist() == [9.0, 10.0, 11.0]


async def test_health(ablender: AsyncBlender) -> None:
    health = await ablender.health()
    assert health["status"] == "ok" and health["mode"] == "module"


async def test_wrong_token_raises_auth_error(server: servers.Running) -> None:
    async with AsyncBlender(server.url, token="wrong") as other:
        with pytest.raises(AuthError) as caught:
            await other.exec("1")
    assert caught.value.status == 401


async def test_unknown_job_raises_not_found(ablender: AsyncBlender) -> None:
    with pytest.raises(NotFound) as caught:
        await ablender.job("0000000000000000")
    assert caught.value.type == "NotFound"


async def test_url_and_token_default_from_the_environment(server: servers.Running,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.client.conftest import TOKEN

    monkeypatch.setenv("BLENDER_HTTP_URL", server.url)
    monkeypatch.setenv("BLENDER_HTTP_TOKEN", TOKEN)
    async with AsyncBlender() as default:
        assert default.url == server.url
        assert (await default.exec("2 * 21")).result == 42
