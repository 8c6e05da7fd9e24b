"""jobs: Job events and summaries, JobStore retention, the bounded JobQueue."""

from __future__ import annotations

import threading

import pytest

from blender_http_addon.jobs import job as jobs
from blender_http_addon.jobs.job import Job
from blender_http_addon.jobs.queue import JobQueue, QueueFull
from blender_http_addon.jobs.store import JobStore
from blender_http_addon.jobs.work import code_job

WAIT_S = 30.0


def finished(code: str = "1", status: str = jobs.SUCCEEDED) -> Job:
    job = code_job(code)
    job.finish(status, {"ok": status == jobs.SUCCEEDED, "result": None})
    return job


# -- JobQueue ------------------------------------------------------------------------

def test_queue_is_bounded() -> None:
    queue = JobQueue(2)
    queue.put(code_job("1"))
    queue.put(code_job("2"))
    with pytest.raises(QueueFull):
        queue.put(code_job("3"))
    assert len(queue) == 2


def test_queue_is_first_in_first_out_and_frees_room() -> None:
    queue = JobQueue(1)
    first, second = code_job("1"), code_job("2")
    queue.put(first)
    assert queue.get_nowait() is first
    queue.put(second)
    assert queue.get(timeout=0) is second
    assert queue.get_nowait() is None
    assert queue.get(timeout=0.01) is None


def test_remove_takes_a_queued_job_out_once() -> None:
    queue = JobQueue(3)
    a, b = code_job("a"), code_job("b")
    queue.put(a)
    queue.put(b)
    assert queue.remove(a) is True
    assert queue.remove(a) is False
    assert len(queue) == 1
    assert queue.get_nowait() is b
    assert queue.remove(b) is False


def test_wake_unblocks_a_waiting_get() -> None:
    queue = JobQueue(1)
    got: list[Job | None] = []
    waiter = threading.Thread(target=lambda: got.append(queue.get(timeout=WAIT_S)))
    waiter.start()
    queue.wake()
    waiter.join(WAIT_S)
    assert got == [None]
    assert len(queue) == 0


def test_put_unblocks_a_waiting_get() -> None:
    queue = JobQueue(1)
    job = code_job("1")
    got: list[Job | None] = []
    waiter = threading.Thread(target=lambda: got.append(queue.get(timeout=WAIT_S)))
    waiter.start()
    queue.put(job)
    waiter.join(WAIT_S)
    assert got == [job]


def test_drain_returns_every_waiting_job_and_skips_wake_tokens() -> None:
    queue = JobQueue(5)
    waiting = [code_job(str(n)) for n in range(3)]
    for job in waiting:
        queue.put(job)
    queue.wake()
    assert queue.drain() == waiting
    assert len(queue) == 0
    assert queue.get_nowait() is None


# -- JobStore ------------------------------------------------------------------------

def test_store_finds_jobs_by_id_and_lists_newest_first() -> None:
    store = JobStore(retention=10)
    a, b = finished(), code_job("2")
    store.add(a)
    store.add(b)
    assert store.get(a.id) is a
    assert store.get("nope") is None
    assert store.recent(10) == [b, a]
    assert store.recent(1) == [b]
    assert store.recent(10, status=jobs.QUEUED) == [b]


def test_retention_drops_the_oldest_finished_jobs() -> None:
    store = JobStore(retention=3)
    old = [finished() for _ in range(3)]
    for job in old:
        store.add(job)
    newest = finished()
    store.add(newest)
    assert store.get(old[0].id) is None
    assert [store.get(j.id) for j in old[1:]] == old[1:]
    assert store.get(newest.id) is newest


def test_retention_never_drops_unfinished_jobs() -> None:
    store = JobStore(retention=2)
    waiting = [code_job("queued"), code_job("running")]
    waiting[1].status = jobs.RUNNING
    done = finished()
    store.add(waiting[0])
    store.add(done)
    store.add(waiting[1])
    store.add(code_job("another"))
    assert store.get(done.id) is None
    assert all(store.get(j.id) is j for j in waiting)
    assert len(store.recent(100)) == 3  # over the bound rather than losing a waiter's job


# -- Job ---------------------------------------------------------------------------

def test_job_events_yield_output_then_done() -> None:
    job = code_job("print('a')")
    job.status = jobs.RUNNING
    job.stdout.write("a")
    job.stderr.write("e")
    job.stdout.write("b")
    envelope = {"ok": True, "result": 1}
    job.finish(jobs.SUCCEEDED, envelope)
    assert list(job.events()) == [(0, "stdout", "a"), (1, "stderr", "e"), (2, "stdout", "b"),
                                  (3, "done", envelope)]
    assert envelope["job"] == job.id
    assert list(job.events(start=2)) == [(2, "stdout", "b"), (3, "done", envelope)]


def test_job_events_follow_a_job_as_it_runs() -> None:
    job = code_job("x")
    job.status = jobs.RUNNING
    seen: list[tuple[int, str, object]] = []
    got_first = threading.Event()

    def follow() -> None:
        for event in job.events(heartbeat=WAIT_S):
            seen.append(event)
            got_first.set()

    reader = threading.Thread(target=follow)
    reader.start()
    job.stdout.write("first")
    assert got_first.wait(WAIT_S)
    job.stdout.write("second")
    job.finish(jobs.SUCCEEDED, {"ok": True})
    reader.join(WAIT_S)
    assert [kind for _, kind, _ in seen] == ["stdout", "stdout", "done"]
    assert [data for _, kind, data in seen if kind == "stdout"] == ["first", "second"]


def test_job_events_send_heartbeats_while_idle() -> None:
    job = code_job("x")
    events = job.events(heartbeat=0.01)
    assert next(events) == (0, "heartbeat", None)
    job.finish(jobs.SUCCEEDED, {"ok": True})
    assert [kind for _, kind, _ in events] == ["done"]


def test_job_events_after_done_end() -> None:
    job = finished()
    assert [kind for _, kind, _ in job.events()] == ["done"]
    assert list(job.events(start=1)) == []


def test_job_view() -> None:
    job = code_job("1", session="s")
    view = job.view()
    assert view["status"] == jobs.QUEUED and view["session"] == "s" and "envelope" not in view
    job.stop_reason = jobs.CANCELLED
    assert job.view()["stop_requested"] == jobs.CANCELLED
    job.finish(jobs.CANCELLED, {"ok": False})
    view = job.view()
    assert view["envelope"] == {"ok": False, "job": job.id}
    assert "stop_requested" not in view
    assert "envelope" not in job.view(with_envelope=False)


def test_timeout_sets_a_deadline() -> None:
    assert code_job("1").deadline is None
    assert code_job("1", timeout=5).deadline is not None


@pytest.mark.parametrize("keep", [True, False])
def test_forget_result_keeps_only_a_summary_for_exec_jobs(keep: bool) -> None:
    job = code_job("1", keep_result=keep)
    job.stdout.write("out")
    envelope = {"ok": False, "result": None, "stdout": "out",
                "error": {"type": "E", "message": "m", "traceback": "tb"}}
    job.finish(jobs.FAILED, envelope, binary=(b"x", {}))
    job.forget_result()
    if keep:
        assert job.envelope is envelope and job.binary == (b"x", {})
    else:
        assert job.envelope == {"ok": False, "job": job.id, "error": {"type": "E", "message": "m"}}
        assert job.binary is None
