"""Internal tasks as jobs: they share the queue, main-thread pump, timeouts and cancel
with /exec, and hand their raw value (or the caller's error) back to the route."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from blender_http_addon.api import outcome
from blender_http_addon.errors import HttpError
from blender_http_addon.jobs import job as jobs
from blender_http_addon.jobs.work import Task

Server = Any


def test_a_task_runs_on_the_pump_thread_and_returns_its_raw_value(server: Server) -> None:
    ran_on: list[int] = []
    payload = bytearray(b"\x00\x01")  # not JSON: the route gets the object itself

    def task(job: jobs.Job) -> bytearray:
        ran_on.append(threading.get_ident())
        return payload

    assert outcome.run_task(server.service, "probe", task) is payload
    assert ran_on == [server.pump.ident]


def test_a_tasks_http_error_reaches_the_caller_whole(server: Server) -> None:
    def task(job: jobs.Job) -> None:
        raise HttpError(404, "no object 'Cub'", extra={"close_matches": ["Cube"]})

    with pytest.raises(HttpError) as caught:
        outcome.run_task(server.service, "lookup", task)
    assert (caught.value.status, caught.value.type) == (404, "NotFound")
    assert caught.value.extra == {"close_matches": ["Cube"]}


def test_a_task_that_breaks_is_a_500_with_the_reason(server: Server) -> None:
    def task(job: jobs.Job) -> None:
        raise KeyError("missing")

    with pytest.raises(HttpError) as caught:
        outcome.run_task(server.service, "broken", task)
    assert (caught.value.status, caught.value.type) == (500, "InternalError")
    assert "KeyError" in caught.value.message


def test_a_task_past_its_timeout_is_interrupted(server: Server) -> None:
    def task(job: jobs.Job) -> None:
        while True:
            pass

    with pytest.raises(HttpError) as caught:
        outcome.run_task(server.service, "spin", task, timeout=0.2)
    assert caught.value.status == 504
    assert server.service.executor.busy is False


def test_a_cancelled_task_is_409_and_the_queue_goes_on(server: Server,
                                                       wait_until: Callable[..., None]) -> None:
    def spin(job: jobs.Job) -> None:
        while True:
            pass

    job = server.service.submit(Task("spin", spin))
    server.wait_busy()
    server.service.cancel(job)
    assert job.done.wait(30)
    with pytest.raises(HttpError) as caught:
        outcome.task_value(job)
    assert (caught.value.status, caught.value.type) == (409, "Cancelled")
    assert outcome.run_task(server.service, "next", lambda job: 42) == 42


def test_a_kept_task_shows_its_result_and_progress_like_a_job(server: Server) -> None:
    def task(job: jobs.Job) -> dict[str, Any]:
        job.progress(stage="working")
        job.progress(fraction=1.0)
        return {"path": "renders/x.png"}

    job = server.service.submit(Task("render", task), keep_result=True)
    assert job.done.wait(30)
    events = [(kind, data) for _, kind, data in job.events()]
    assert events[:2] == [("progress", {"stage": "working"}), ("progress", {"fraction": 1.0})]
    assert events[-1][0] == "done"
    view = job.view()
    assert (view["status"], view["task"]) == ("succeeded", "render")
    assert view["envelope"]["result"] == {"path": "renders/x.png"}


def test_task_progress_streams_as_server_sent_events(server: Server) -> None:
    job = server.service.submit(Task("render", lambda job: job.progress(stage="rendering")),
                                     keep_result=True)
    with server.client() as http:
        text = http.get(f"/jobs/{job.id}/events").text
    assert 'event: progress\ndata: {"stage":"rendering"}' in text
    assert "event: done" in text


def test_a_failed_kept_task_keeps_the_error_shape(server: Server) -> None:
    def task(job: jobs.Job) -> None:
        raise HttpError(400, "unknown engine 'X'")

    job = server.service.submit(Task("render", task), keep_result=True)
    assert job.done.wait(30)
    error = job.view()["envelope"]["error"]
    assert (job.status, error["type"], error["message"]) == ("failed", "BadRequest", "unknown engine 'X'")


def test_tasks_are_refused_while_shutting_down(server: Server) -> None:
    server.service.shutdown()
    with pytest.raises(HttpError) as caught:
        outcome.run_task(server.service, "late", lambda job: None)
    assert caught.value.status == 503
