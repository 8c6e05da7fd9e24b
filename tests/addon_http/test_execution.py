"""execution: compile_cell, describe_error and the Executor, run on a worker thread that
stands in for Blender's main thread; cancel and timeout through the Service."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from blender_http_addon.config import Config
from blender_http_addon.jobs import job as jobs
from blender_http_addon.jobs.cells import compile_cell
from blender_http_addon.jobs.execution import Executor
from blender_http_addon.jobs.interrupt import JobCancelled
from blender_http_addon.jobs.sessions import SessionStore
from blender_http_addon.jobs.work import Code, code_job
from blender_http_addon.service import Service

Run = Callable[..., jobs.Job]
WaitUntil = Callable[..., None]
WAIT_S = 30.0


def envelope(job: jobs.Job) -> dict[str, Any]:
    assert job.envelope is not None
    return job.envelope


def error(job: jobs.Job) -> dict[str, Any]:
    assert job.status == jobs.FAILED, job.envelope
    assert envelope(job)["ok"] is False
    return envelope(job)["error"]


# -- results ---------------------------------------------------------------------------

def test_last_expression_is_the_result(run: Run) -> None:
    job = run("x = 20\nx * 2 + 2")
    assert job.status == jobs.SUCCEEDED
    env = envelope(job)
    assert env["ok"] is True and env["result"] == 42
    assert env["job"] == job.id
    assert isinstance(env["duration_ms"], float)


def test_result_global_when_no_trailing_expression(run: Run) -> None:
    assert envelope(run("result = {'a': (1, 2)}"))["result"] == {"a": [1, 2]}


def test_trailing_expression_wins_over_result(run: Run) -> None:
    assert envelope(run("result = 1\n2"))["result"] == 2


def test_neither_gives_null(run: Run) -> None:
    assert envelope(run("x = 1"))["result"] is None
    assert envelope(run("def f():\n    return 1\n"))["result"] is None


def test_result_is_converted(run: Run) -> None:
    assert envelope(run("float('nan'), b'ab'"))["result"] == [None, {"$bytes": "YWI="}]


def test_args_workdir_and_bindings_are_bound(tmp_path: Path) -> None:
    executor = Executor(bindings=lambda: {"C": "context"}, workdir=str(tmp_path),
                        sessions=SessionStore())
    job = code_job("(args['n'] + 1, WORKDIR, C, __name__)", args={"n": 41})
    thread = threading.Thread(target=executor.run, args=(job,))
    thread.start()
    thread.join(WAIT_S)
    assert envelope(job)["result"] == [42, str(tmp_path), "context", "__main__"]


def test_each_job_gets_a_fresh_namespace(run: Run) -> None:
    assert run("leftover = 1").status == jobs.SUCCEEDED
    assert error(run("leftover"))["type"] == "NameError"


def test_named_session_keeps_variables(run: Run) -> None:
    assert run("counter = 1", session="s1").status == jobs.SUCCEEDED
    assert envelope(run("counter += 1\ncounter", session="s1"))["result"] == 2
    assert error(run("counter", session="other"))["type"] == "NameError"
    assert error(run("counter"))["type"] == "NameError"


def test_session_result_is_not_repeated_when_the_code_does_not_set_it(run: Run) -> None:
    assert envelope(run("result = 'first'", session="s"))["result"] == "first"
    assert envelope(run("x = 1", session="s"))["result"] is None


def test_session_result_set_again_to_the_same_value(run: Run) -> None:
    assert envelope(run("result = 1", session="s"))["result"] == 1
    assert envelope(run("result = 1", session="s"))["result"] == 1


def test_want_binary_keeps_raw_bytes(run: Run) -> None:
    job = run("b'\\x00\\x01'", want_binary=True)
    assert job.binary == (b"\x00\x01", {"X-Result-Dtype": "uint8", "X-Result-Shape": "2"})
    assert envelope(job)["result"] == {"$binary": {"bytes": 2, "X-Result-Dtype": "uint8",
                                                   "X-Result-Shape": "2"}}


# -- output ----------------------------------------------------------------------------

def test_stdout_and_stderr_are_captured_separately(run: Run) -> None:
    job = run("import sys\nprint('out')\nprint('err', file=sys.stderr)\nsys.stdout.write('more')")
    env = envelope(job)
    assert (env["stdout"], env["stderr"]) == ("out\nmore", "err\n")
    assert "truncated" not in env


def test_output_is_capped_and_marked_truncated(run: Run) -> None:
    job = run("print('x' * 100)\nprint('y' * 5, file=__import__('sys').stderr)", max_output_bytes=10)
    env = envelope(job)
    assert env["stdout"] == "x" * 10
    assert env["stderr"] == "y" * 5 + "\n"
    assert env["truncated"] == ["stdout"]


def test_output_cap_does_not_split_a_character(run: Run) -> None:
    env = envelope(run("import sys\nsys.stdout.write('\u00e9' * 10)", max_output_bytes=5))
    assert env["stdout"] == "\u00e9\u00e9"
    assert env["truncated"] == ["stdout"]


def test_prints_from_a_thread_the_code_starts_do_not_leak_in(run: Run) -> None:
    code = ("import threading\n"
            "t = threading.Thread(target=print, args=('from-thread',))\n"
            "t.start(); t.join()\n"
            "print('mine')")
    assert envelope(run(code))["stdout"] == "mine\n"


def test_prints_from_another_thread_during_a_job_do_not_leak_in(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    started, release = threading.Event(), threading.Event()
    executor = Executor(bindings=lambda: {"started": started, "release": release},
                        workdir=str(tmp_path), sessions=SessionStore())
    job = code_job("print('before')\nstarted.set()\nrelease.wait(30)\nprint('after')")
    worker = threading.Thread(target=executor.run, args=(job,))
    worker.start()
    assert started.wait(WAIT_S)
    print("from-the-test-thread")
    sys.stderr.write("test-stderr\n")
    release.set()
    worker.join(WAIT_S)
    env = envelope(job)
    assert (env["stdout"], env["stderr"]) == ("before\nafter\n", "")
    captured = capsys.readouterr()
    assert "from-the-test-thread" in captured.out and "test-stderr" in captured.err


def test_streams_are_restored_after_a_job(run: Run) -> None:
    saved = sys.stdout, sys.stderr
    run("print(1)")
    run("1/0")
    assert (sys.stdout, sys.stderr) == saved


# -- errors ----------------------------------------------------------------------------

def test_syntax_error_has_its_line_and_no_server_frames(run: Run) -> None:
    info = error(run("x = 1\ny = (\nz = 2\n"))
    assert info["type"] == "SyntaxError"
    assert info["line"] in (2, 3)
    assert '"<exec>"' in info["traceback"]
    assert "blender_http_addon" not in info["traceback"]
    assert "execution.py" not in info["traceback"]
    assert "Traceback (most recent call last)" not in info["traceback"]


def test_compile_stage_syntax_error(run: Run) -> None:
    info = error(run("x = 1\nreturn x\n"))
    assert info["type"] == "SyntaxError"
    assert info["line"] == 2
    assert "outside function" in info["message"]


def test_runtime_error_traceback_starts_at_the_users_code(run: Run) -> None:
    info = error(run("a = 1\nb = 2\nmissing_name + a\n"))
    assert (info["type"], info["line"]) == ("NameError", 3)
    assert "missing_name" in info["message"]
    lines = info["traceback"].splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[1].strip() == 'File "<exec>", line 3, in <module>'
    assert "missing_name + a" in info["traceback"]  # the user's source line is shown
    assert "blender_http_addon" not in info["traceback"]


def test_error_inside_a_function_points_at_the_raising_line(run: Run) -> None:
    info = error(run("def f(x):\n    return 1 / x\n\nf(0)\n"))
    assert (info["type"], info["line"]) == ("ZeroDivisionError", 2)
    assert 'File "<exec>", line 4, in <module>' in info["traceback"]
    assert 'File "<exec>", line 2, in f' in info["traceback"]


def test_error_in_the_trailing_expression(run: Run) -> None:
    info = error(run("x = [1]\nx[5]"))
    assert (info["type"], info["line"]) == ("IndexError", 2)


def test_stdout_before_an_error_is_kept(run: Run) -> None:
    job = run("print('partial')\nraise ValueError('boom')")
    assert envelope(job)["stdout"] == "partial\n"
    assert error(job)["message"] == "boom"


@pytest.mark.parametrize(("code", "kind"), [
    ("import sys\nsys.exit(3)", "SystemExit"),
    ("raise SystemExit", "SystemExit"),
    ("raise KeyboardInterrupt", "KeyboardInterrupt"),
    ("def f():\n    return f()\nf()", "RecursionError"),
    ("raise GeneratorExit", "GeneratorExit"),
])
def test_base_exceptions_are_structured_failures(run: Run, code: str, kind: str) -> None:
    info = error(run(code))
    assert info["type"] == kind
    assert isinstance(info["message"], str)
    assert isinstance(info["line"], int)
    assert info["traceback"].startswith("Traceback (most recent call last):")


def test_system_exit_message_says_the_server_stays_up(run: Run) -> None:
    assert "server stays up" in error(run("import sys; sys.exit(2)"))["message"]


def test_executor_keeps_working_after_failures(run: Run) -> None:
    for code in ("import sys; sys.exit()", "raise KeyboardInterrupt", "def f(): f()\nf()"):
        run(code)
    assert envelope(run("1 + 1"))["result"] == 2


def test_unconvertible_result_still_succeeds(run: Run) -> None:
    code = "class Bad:\n    def __repr__(self):\n        raise RuntimeError\nBad()"
    job = run(code)
    assert job.status == jobs.SUCCEEDED
    assert "repr failed" in envelope(job)["result"]["$repr"]


def test_run_never_raises_even_when_bindings_fail(tmp_path: Path) -> None:
    def broken() -> dict[str, Any]:
        raise RuntimeError("bindings broke")

    executor = Executor(bindings=broken, workdir=str(tmp_path), sessions=SessionStore())
    job = code_job("1")
    executor.run(job)
    assert job.status == jobs.FAILED


def test_compile_cell_splits_off_the_trailing_expression() -> None:
    body, expr, stores_result = compile_cell("x = 1\nx + 1")
    assert expr is not None
    assert stores_result is False
    assert compile_cell("result = 1")[2] is True
    namespace: dict[str, Any] = {}
    exec(body, namespace)
    assert eval(expr, namespace) == 2
    assert compile_cell("x = 1")[1] is None


# -- cancel and timeout ----------------------------------------------------------------

def _start(executor: Executor, job: jobs.Job) -> threading.Thread:
    worker = threading.Thread(target=executor.run, args=(job,), daemon=True)
    worker.start()
    return worker


def test_interrupt_stops_a_running_loop(executor: Executor, wait_until: WaitUntil) -> None:
    job = code_job("while True:\n    pass")
    worker = _start(executor, job)
    wait_until(lambda: executor.interrupt(job, JobCancelled), "the interrupt to be accepted")
    assert job.done.wait(WAIT_S)
    worker.join(WAIT_S)
    assert job.status == jobs.CANCELLED
    error = envelope(job)["error"]
    assert error["type"] == "Cancelled"
    assert not executor.busy
    # Where the code stopped, then plain words: no internal class name.
    assert error["traceback"].startswith("Traceback (most recent call last):\n  File \"<exec>\"")
    assert error["traceback"].endswith("\nCancelled: the job was cancelled while running\n")
    assert "JobCancelled" not in error["traceback"] and "blender_http_addon" not in error["traceback"]


def test_interrupt_is_not_swallowed_by_except_exception(executor: Executor,
                                                        wait_until: WaitUntil) -> None:
    job = code_job("while True:\n    try:\n        pass\n    except Exception:\n        pass")
    _start(executor, job)
    wait_until(lambda: executor.interrupt(job, JobCancelled), "the interrupt to be accepted")
    assert job.done.wait(WAIT_S)
    assert job.status == jobs.CANCELLED


def test_interrupt_of_a_job_that_is_not_running_is_refused(executor: Executor, run: Run) -> None:
    finished = run("1")
    assert executor.interrupt(finished, JobCancelled) is False
    assert executor.interrupt(code_job("1"), JobCancelled) is False
    assert envelope(run("2"))["result"] == 2  # no stray interrupt left behind


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    """A Service without HTTP: its watchdog runs, a test pumps jobs with pump()."""
    svc = Service(Config(workdir=str(tmp_path / "work")), mode="module")
    svc.accepting = True  # what start() does, minus binding a port
    svc.watchdog.start()
    yield svc
    for job in svc.store.recent(10_000):
        if not job.finished:
            svc.cancel(job)
    svc.stop()


def pump(service: Service) -> threading.Thread:
    """Run exactly one queued job on a worker thread."""
    worker = threading.Thread(target=service.step, kwargs={"timeout": WAIT_S}, daemon=True)
    worker.start()
    return worker


def test_service_cancel_stops_a_running_job(service: Service, wait_until: WaitUntil) -> None:
    job = service.submit(Code("while True:\n    pass"))
    worker = pump(service)
    wait_until(lambda: service.executor.busy, "the job to run")
    service.cancel(job)
    assert job.done.wait(WAIT_S)
    worker.join(WAIT_S)
    assert job.status == jobs.CANCELLED
    assert envelope(job)["error"]["type"] == "Cancelled"


def test_service_cancel_drops_a_queued_job(service: Service) -> None:
    job = service.submit(Code("1"))
    service.cancel(job)
    assert job.status == jobs.CANCELLED
    assert envelope(job)["error"]["type"] == "Cancelled"
    assert len(service.queue) == 0
    assert service.step(timeout=0) is False


def test_cancel_of_a_finished_job_is_a_no_op(service: Service) -> None:
    job = service.submit(Code("1"))
    assert service.step(timeout=WAIT_S)
    service.cancel(job)
    assert job.status == jobs.SUCCEEDED


def test_timeout_interrupts_a_running_job(service: Service) -> None:
    job = service.submit(Code("print('started')\nwhile True:\n    pass"), timeout=1.0)
    worker = pump(service)
    assert job.done.wait(WAIT_S)
    worker.join(WAIT_S)
    assert job.status == jobs.TIMED_OUT
    env = envelope(job)
    assert env["error"]["type"] == "Timeout"
    assert "timeout" in env["error"]["message"]
    assert env["stdout"] == "started\n"


def test_timeout_of_a_job_still_in_the_queue(service: Service) -> None:
    job = service.submit(Code("1"), timeout=0.05)  # nobody pumps: it stays queued
    assert job.done.wait(WAIT_S)
    assert job.status == jobs.TIMED_OUT
    assert len(service.queue) == 0


def test_cancel_between_dequeue_and_start_is_not_lost(tmp_path: Path, wait_until: WaitUntil) -> None:
    in_bindings, release = threading.Event(), threading.Event()

    def slow_bindings() -> dict[str, Any]:
        in_bindings.set()
        release.wait(WAIT_S)
        return {}

    svc = Service(Config(workdir=str(tmp_path / "work")), mode="module", bindings=slow_bindings)
    svc.accepting = True
    job = svc.submit(Code("while True:\n    pass"))
    worker = pump(svc)
    try:
        assert in_bindings.wait(WAIT_S)  # dequeued, status RUNNING, not yet interruptible
        svc.cancel(job)
        release.set()
        assert job.done.wait(5.0), "the cancel was lost"
    finally:
        release.set()
        wait_until(lambda: job.done.is_set() or svc.executor.interrupt(job, JobCancelled),
                   "the runaway job to stop")
        worker.join(WAIT_S)
        svc.stop()

