"""`--spawn N`: start N local workers, watch them, restart the dead ones with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from blender_http.local.launcher import LaunchError, find_blender, launch_script
from blender_http.local.processes import DETACHED, LIFELINE_ENV
from blender_http.local.temp import own_folder, private_temp

from ..metrics import Metrics
from .backends import Backend, BackendPool

log = logging.getLogger("blender_http_gateway.supervisor")

START_TIMEOUT_S = 120.0
# Restart delays grow 0.5, 1, 2 ... up to this cap while a worker keeps dying young.
MAX_BACKOFF_S = 30.0
# A worker that ran this long before dying is restarted at once (its crash was not at start-up).
STABLE_AFTER_S = 30.0
STOP_GRACE_S = 10.0
# What a worker inherits from the gateway's environment: what a process needs to run Python
# and Blender, never the gateway's secrets (API keys, the keys file, its own token).
INHERITED = frozenset({"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ",
                       # Windows: without SYSTEMROOT a process cannot even open a socket.
                       "SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PATHEXT", "USERPROFILE",
                       "APPDATA", "LOCALAPPDATA", "PROGRAMDATA", "PROGRAMFILES", "USERNAME",
                       "TMPDIR", "TEMP", "TMP", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV",
                       "LD_LIBRARY_PATH", "DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY", "OCIO",
                       "BLENDER_PATH"})
INHERITED_PREFIXES = ("LC_", "XDG_", "BLENDER_USER_", "BLENDER_SYSTEM_")
# Worker settings (BLENDER_HTTP_*) pass on, except these, which are the gateway's or set here.
NOT_INHERITED = frozenset({"BLENDER_HTTP_API_KEYS", "BLENDER_HTTP_API_KEYS_FILE", "BLENDER_HTTP_TOKEN",
                           "BLENDER_HTTP_TOKEN_FILE", "BLENDER_HTTP_HOST", "BLENDER_HTTP_PORT",
                           "BLENDER_HTTP_READY_FILE", "BLENDER_HTTP_ALLOWED_ORIGINS"})


class Supervisor:
    def __init__(self, *, pool: BackendPool, count: int, mode: str, token: str, metrics: Metrics,
                 blender: str | None = None) -> None:
        self._pool = pool
        self._count = count
        self._mode = mode
        self._token = token
        self._metrics = metrics
        self._blender = blender
        # The workers' token file and temporary folders; a gateway killed outright leaves it,
        # and the next one to spawn workers removes it.
        self._folder = own_folder("gateway")
        self._procs: dict[str, asyncio.subprocess.Process] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    async def start(self) -> None:
        """Launch every worker and wait until each has answered /health once."""
        if self._mode == "background":
            find_blender(self._blender)  # fail now, not in a restart loop
        started = []
        for index in range(self._count):
            backend = self._pool.add(Backend(key=f"spawn-{index}", url=None))
            ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._tasks.append(asyncio.create_task(self._supervise(backend, ready)))
            started.append(ready)
        await asyncio.gather(*started)

    async def stop(self) -> None:
        """Ask every worker to finish its job and exit; kill what is left after a grace period."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for proc in self._procs.values():
            _ask_to_stop(proc)
        for key, proc in self._procs.items():
            try:
                await asyncio.wait_for(proc.wait(), STOP_GRACE_S)
            except TimeoutError:
                log.warning("worker %s did not stop, killing it", key)
                _kill(proc)
                await proc.wait()
        self._procs.clear()
        shutil.rmtree(self._folder, ignore_errors=True)

    def replace(self, backend: Backend, reason: str) -> bool:
        """Kill a stuck worker of ours (the supervisor starts it again); False if not ours."""
        proc = self._procs.get(backend.key)
        if proc is None or proc.returncode is not None:
            return False
        log.warning("worker %s (pid %s) is stuck, killing and restarting it: %s", backend.key,
                    proc.pid, reason)
        backend.mark_lost(f"{reason}, so the gateway killed it", stuck=True)
        _kill(proc)
        return True

    async def _supervise(self, backend: Backend, ready: asyncio.Future[None]) -> None:
        failures = 0
        while not self._stopping:
            began = time.monotonic()
            try:
                proc = await self._launch(backend)
            except (OSError, LaunchError, TimeoutError) as exc:
                log.error("worker %s failed to start: %s", backend.key, exc)
                backend.last_error = f"failed to start: {exc}"
                if not ready.done():
                    ready.set_exception(LaunchError(f"worker {backend.key} failed to start: {exc}"))
                    return
            else:
                if not ready.done():
                    ready.set_result(None)
                status = await proc.wait()
                self._procs.pop(backend.key, None)
                # On a thread: a worker's folder may hold gigabytes of renders.
                await asyncio.to_thread(shutil.rmtree, self._temp(backend), ignore_errors=True)
                if self._stopping:
                    return
                backend.mark_lost(f"worker {backend.key} (pid {proc.pid}) exited with status {status}")
                log.warning("worker %s (pid %s) exited with status %s; restarting", backend.key,
                            proc.pid, status)
                self._metrics.restarts.labels(backend.key).inc()
            failures = 0 if time.monotonic() - began > STABLE_AFTER_S else failures + 1
            await asyncio.sleep(min(MAX_BACKOFF_S, 0.5 * 2 ** (failures - 1)) if failures else 0)

    async def _launch(self, backend: Backend) -> asyncio.subprocess.Process:
        ready_file = self._folder / f"{backend.key}.json"
        ready_file.unlink(missing_ok=True)
        temp = await asyncio.to_thread(private_temp, self._temp(backend))  # emptied: see above
        env = {**worker_environment(os.environ), "BLENDER_HTTP_HOST": "127.0.0.1",
               "BLENDER_HTTP_PORT": "0", "BLENDER_HTTP_READY_FILE": str(ready_file),
               "BLENDER_HTTP_TOKEN_FILE": str(self._token_file()), **temp}
        # The lifeline (a pipe as stdin, never written): the worker stops when the gateway
        # ends, however it ends, on every platform (blender_http.local.processes).
        proc = await asyncio.create_subprocess_exec(
            *self._command(ready_file), stdin=asyncio.subprocess.PIPE, env={**env, **LIFELINE_ENV},
            **DETACHED)
        self._procs[backend.key] = proc
        backend.pid = proc.pid
        deadline = time.monotonic() + START_TIMEOUT_S
        while not ready_file.exists():
            if proc.returncode is not None:
                raise LaunchError(f"exited with status {proc.returncode} before listening")
            if time.monotonic() > deadline:
                _kill(proc)
                raise TimeoutError(f"not listening after {START_TIMEOUT_S:g} s")
            await asyncio.sleep(0.02)
        url = json.loads(ready_file.read_text())["url"]
        backend.mark_up(url)
        await self._pool.check(backend)
        log.info("worker %s (pid %s, %s mode) listening on %s", backend.key, proc.pid, self._mode, url)
        return proc

    def _temp(self, backend: Backend) -> Path:
        """The worker's own temporary folder, emptied when it ends (a stuck worker killed
        leaves its work folder and Blender's files behind otherwise, for good)."""
        return self._folder / f"{backend.key}.tmp"

    def _token_file(self) -> Path:
        """The workers' token in a file only this user may read (not in their environment,
        where every child process and /proc/PID/environ would carry it)."""
        path = self._folder / "token"
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(self._token)
        return path

    def _command(self, ready_file: Path) -> list[str]:
        if self._mode == "module":
            return [sys.executable, "-m", "blender_http", "serve", "--port", "0", "--no-record",
                    "--ready-file", str(ready_file)]
        return [find_blender(self._blender), "--background", "--factory-startup",
                "--python", str(launch_script())]


def worker_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The part of the gateway's environment a spawned worker gets."""
    return {name: value for name, value in environ.items()
            if name in INHERITED or name.startswith(INHERITED_PREFIXES)
            or (name.startswith("BLENDER_HTTP_") and not name.startswith("BLENDER_HTTP_GATEWAY_")
                and name not in NOT_INHERITED)}


def _ask_to_stop(proc: asyncio.subprocess.Process) -> None:
    """POSIX: SIGTERM (the worker finishes its running job, then exits). Windows has no
    signal to ask with: closing the lifeline stops the worker (its running job cancelled)."""
    if sys.platform == "win32":
        if proc.stdin is not None:
            proc.stdin.close()
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()


def _kill(proc: asyncio.subprocess.Process) -> None:
    """At once: SIGKILL, or TerminateProcess on Windows."""
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
