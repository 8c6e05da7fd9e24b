"""The service, the composition root: one object that builds and owns the HTTP server
(with the application it calls), the job queue, the store and the executor.

Life cycle (the same in every mode):
  start()      bind (port 0 allowed; read the real one from .port), serve HTTP in a thread
  step()/pump  the main thread runs queued jobs (pumps/ decides how it is called)
  shutdown()   refuse new jobs with 503, fail queued ones with 503, let the running one end
  stop()       close the listener and connections, remove a scratch work folder
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

from . import lifeline
from .api.app import App
from .api.guard import Guard
from .api.mcp_route import offered, running_calls
from .config import Config
from .errors import HttpError
from .files.folder import WorkFolder
from .http.connection import Limits
from .http.server import Server
from .jobs import execution
from .jobs import job as jobs
from .jobs.idempotency import IdempotencyKeys, KeyReused
from .jobs.interrupt import JobCancelled, JobInterrupt, JobTimedOut
from .jobs.queue import JobQueue, QueueFull
from .jobs.sessions import SessionsFull, SessionStore
from .jobs.store import JobStore
from .jobs.watchdog import Watchdog
from .jobs.work import Work
from .protocol import HEALTH, IDEMPOTENCY_HEADER, IDEMPOTENCY_KEY_REUSED

# Written out, not read from bl_info: Blender 4.2+ removes bl_info from an extension's
# module. tests/test_versions.py keeps the copies equal.
ADDON_VERSION = "0.1.0"


class Service:
    def __init__(self, config: Config, *, mode: str, blender_version: str = "",
                 bindings: Callable[[], dict[str, Any]] = dict) -> None:
        config.validate()
        self.config = config
        # The MCP tools offered (read-only, filters); an unknown tool name stops the start here.
        self.mcp_tools = offered(config)
        self.mcp_calls = running_calls()  # MCP tool calls running now, for a client's cancel
        self.mode = mode
        self.blender_version = blender_version
        self.queue = JobQueue(config.max_queue)
        self.store = JobStore(config.job_retention, config.job_retention_bytes)
        self.keys = IdempotencyKeys(self.store)
        self.sessions = SessionStore(config.max_sessions, config.session_ttl)
        self._scratch = config.workdir is None
        self.files = WorkFolder(config.workdir or tempfile.mkdtemp(prefix="blender-http-"))
        self.executor = execution.Executor(bindings=bindings, workdir=str(self.files.root),
                                           sessions=self.sessions)
        self.watchdog = Watchdog(self._expire)
        self.accepting = False
        self.started_at = 0.0
        self.stopped = threading.Event()
        # Set by shutdown(): the pump finishes its job and returns; stop() follows.
        self.should_exit = threading.Event()
        self.server: Server | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle ---------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self.server is not None, "start() first"
        return self.server.port

    @property
    def url(self) -> str:
        host = self.config.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        return f"http://{'[' + host + ']' if ':' in host else host}:{self.port}"

    def start(self, *, announce: bool = True) -> None:
        """Bind and serve HTTP on a background thread; jobs wait for a pump. announce=False
        leaves the ready file to announce(), for a pump that starts later (the GUI's). A start
        that fails (the port taken, the ready file's folder gone) leaves nothing behind: no
        thread, no socket, no scratch folder."""
        try:
            self._start(announce)
        except BaseException:
            self.stop(grace=0.0)
            raise

    def _start(self, announce: bool) -> None:
        config = self.config
        limits = Limits(idle_timeout=config.idle_timeout, request_timeout=config.request_timeout,
                        max_body_bytes=config.max_body_bytes)
        self.server = Server((config.host, config.port), limits=limits,
                             max_connections=config.max_connections,
                             first_byte_timeout=config.first_byte_timeout,
                             reserved_paths=frozenset({HEALTH}))
        # The app's Host check needs the bound port, so it comes once the server is bound.
        self.server.app = App(self, Guard(config, self.server.port))
        self.started_at = time.time()
        self.accepting = True
        self.watchdog.start()
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="blender-http", daemon=True)
        self._thread.start()
        if config.exit_with_stdin:
            lifeline.watch(self)
        if announce:
            self.announce()

    def announce(self) -> None:
        """Write the ready file, if one is configured: the server answers and jobs run."""
        if self.config.ready_file:
            _write_atomic(self.config.ready_file, json.dumps(
                {"pid": os.getpid(), "port": self.port, "url": self.url, "mode": self.mode}))

    def shutdown(self) -> None:
        """Refuse new jobs, fail the queued ones with 503, and let the pump return after
        the running job. Safe from any thread except a signal handler."""
        if self.should_exit.is_set():
            return
        self.accepting = False
        self.should_exit.set()
        for job in self.queue.drain():
            execution.stopped_before_start(job, jobs.CANCELLED, "Unavailable",
                                           "the server is shutting down; the job did not run")
        self.queue.wake()

    def stop(self, grace: float = 5.0) -> None:
        """Close the server after answering the requests in flight (up to grace seconds)."""
        self.shutdown()
        if self.server is not None and not self.stopped.is_set():
            self.server.wait_idle(grace)
            if self._thread is not None:  # shutdown() waits for serve_forever: only once it runs
                self.server.close_idle(grace)  # still listening: a request caught in it comes again
                self.server.shutdown()
            self.server.server_close()
            self.server.drop_connections()
        self.watchdog.stop()
        if self._scratch:
            shutil.rmtree(self.files.root, ignore_errors=True)
        if self.config.ready_file:
            try:
                os.unlink(self.config.ready_file)
            except OSError:
                pass
        self.stopped.set()

    # -- main-thread side ---------------------------------------------------------

    def step(self, timeout: float | None = 0.0) -> bool:
        """Run the next queued job on the calling thread. timeout None blocks until a job
        or shutdown; 0 returns at once. True when a job ran."""
        return self.run_next(timeout) is not None

    def run_next(self, timeout: float | None = 0.0) -> jobs.Job | None:
        """step(), answering the job that ran (the GUI pump names an undo step after it)."""
        job = self.queue.get_nowait() if timeout == 0 else self.queue.get(timeout)
        if job is None or job.status != jobs.QUEUED:
            return None
        self._run(job)
        return job

    def _run(self, job: jobs.Job) -> None:
        self.executor.run(job)
        self.watchdog.discard(job)
        self.store.settle(job)

    # -- job manager (HTTP threads) -----------------------------------------------

    def submit(self, work: Work, *, timeout: float | None = None, keep_result: bool = True,
               inline: bool = False, key: str | None = None, fingerprint: str = "",
               on_submit: Callable[[jobs.Job], None] | None = None) -> jobs.Job:
        """Queue a job (503 when shutting down or the queue is full). inline: the caller is
        the pump's own thread (pumps/main_loop.py), so the job runs here and now: queued,
        it would wait for the very thread that waits for it. key: an Idempotency-Key; a
        key seen before with the same fingerprint (a digest of the request) answers with
        its first job, which is not run again; with another fingerprint it is 422 and
        nothing happens (not even a session reserved). on_submit: told of the job once it is
        accepted, before it runs (an MCP call follows it, and a client's cancel reaches it
        even while it runs inline)."""
        if not self.accepting:
            raise HttpError(503, "the server is shutting down", headers={"Retry-After": "5"})
        job = jobs.Job(work, timeout=timeout, keep_result=keep_result,
                       max_output_bytes=self.config.max_output_bytes)
        if key is not None:
            try:
                first = self.keys.claim(key, job, fingerprint)
            except KeyReused:
                raise HttpError(422, f"this {IDEMPOTENCY_HEADER} was used for another request "
                                     "(another method, path, code, args, session or timeout); "
                                     "nothing ran. Send a new key for a new request",
                                type=IDEMPOTENCY_KEY_REUSED) from None
            if first is not job:
                while inline and not first.finished and self.step(0):
                    pass  # the first job waits in the queue this very thread runs
                return first
        try:
            if work.session:
                self.sessions.reserve(work.session)
            if not inline:
                self.queue.put(job)
        except SessionsFull as exc:
            self._refused(job, key, "the session store was full; the job did not run")
            raise HttpError(503, str(exc)) from None
        except QueueFull:
            self._refused(job, key, "the queue was full; the job did not run")
            raise HttpError(503, f"the queue is full ({self.config.max_queue} jobs wait); "
                                 "retry shortly", headers={"Retry-After": "1"}) from None
        self.store.add(job)
        if job.deadline is not None:
            self.watchdog.add(job)
        if on_submit is not None:
            on_submit(job)
        if inline:
            while self.step(0):  # jobs that came first, first
                pass
            self._run(job)
        return job

    def _refused(self, job: jobs.Job, key: str | None, message: str) -> None:
        """A keyed job that was never accepted: requests waiting on it under its key learn
        why, and the key is given up so that a retry may run."""
        if key is not None:
            execution.stopped_before_start(job, jobs.CANCELLED, "Unavailable", message)
            self.keys.release(key, job)

    def cancel(self, job: jobs.Job, exc_type: type[JobInterrupt] = JobCancelled) -> None:
        """Drop a queued job or interrupt a running one; no-op for finished jobs."""
        status = jobs.TIMED_OUT if exc_type is JobTimedOut else jobs.CANCELLED
        if job.finished:
            return
        job.stop_reason = status
        if self.queue.remove(job):
            message = ("the job waited in the queue past its timeout" if status == jobs.TIMED_OUT
                       else "the job was cancelled before it started")
            execution.stopped_before_start(job, status, "Timeout" if status == jobs.TIMED_OUT
                                           else "Cancelled", message)
            return
        self.executor.interrupt(job, exc_type)

    def _expire(self, job: jobs.Job) -> None:
        self.cancel(job, JobTimedOut)

    def get_job(self, job_id: str) -> jobs.Job:
        job = self.store.get(job_id)
        if job is None:
            raise HttpError(404, f"no job {job_id!r} (unknown, or dropped from the recent-jobs list)")
        return job

    def health(self) -> dict[str, Any]:
        """Answered from the HTTP thread without waiting on the main thread."""
        return {
            "status": "ok" if self.accepting else "stopping",
            "mode": self.mode,
            "blender": self.blender_version,
            "addon": ADDON_VERSION,
            "busy": self.executor.busy,
            "queued": len(self.queue),
            # What a client may keep in flight (running + waiting) before 503s: Blender.map's default.
            "max_queue": self.config.max_queue,
            "uptime_s": round(time.time() - self.started_at, 3),
        }


def _write_atomic(path: str, text: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".ready-", dir=folder)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.replace(tmp, path)
