"""The Ray actor: one Blender on this node, on loopback with a private token, that runs the
items the driver hands it, one at a time.

The Blender is this actor's child (processes.start_child, with the lifeline): when Ray ends
the actor, however it ends it, the Blender stops too. When the Blender dies, the item it was
running is reported lost (it may have run) and the next item starts a new Blender first.

What goes back to the driver is the HTTP answer as Blender sent it (a Reply), not an
exception: the driver reads it with calls.py like any answer, so errors take the one path of
client/errors.py. Exceptions of the client do not survive pickling (their __init__ takes more
than the message)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from blender_http_addon.protocol import IDEMPOTENCY_HEADER

from .. import calls
from ..errors import ConnectError, TransportError, translating
from ..local import processes, temp
from ..local.launcher import find_blender, launch_script

# The environment variable that tells an item's code which Ray node runs it.
NODE_ENV = "BLENDER_HTTP_RAY_NODE"
START_TIMEOUT_S = 180.0
STOP_GRACE_S = 10.0
# Sends of one item to a Blender that was found dead before the item reached it (nothing ran):
# each starts a new Blender first.
STARTS_PER_ITEM = 2
# How long a Blender whose connection broke may take to exit before it counts as alive.
SETTLE_S = 5.0


@dataclasses.dataclass(frozen=True)
class Reply:
    """One item's answer: Blender's HTTP answer (status, headers, body), or the transport
    failure that stood in its way (`failure`: a class of client/errors.py, by name)."""

    node: str
    status: int = 0
    headers: tuple[tuple[str, str], ...] = ()
    content: bytes = b""
    failure: str | None = None
    message: str = ""


class BlenderWorker:
    """One Blender on this node (module mode: `blender-http serve`; or `blender -b`)."""

    def __init__(self, mode: str, blender: str | None) -> None:
        import ray  # inside the actor's process, which Ray started: it is there

        self._node: str = ray.get_runtime_context().get_node_id()
        self._blender = find_blender(blender) if mode == "background" else None
        self._token = secrets.token_urlsafe(32)
        # Its Blender's log, the token until read, the Blender's temporary folder: a worker
        # Ray killed leaves it behind, and the next worker on the node removes it.
        self._folder = temp.own_folder("ray")
        self._proc: subprocess.Popen[bytes] | None = None
        self._url = ""
        self._http = httpx.Client(headers=calls.auth_headers(self._token), trust_env=False)
        self._calls = calls.Calls(self._http, calls.DEFAULT_TIMEOUT)
        self._start()

    def info(self) -> dict[str, Any]:
        """Where this worker runs: its node, its pid and its Blender's (ready once it answers)."""
        return {"node": self._node, "pid": os.getpid(),
                "blender_pid": self._proc.pid if self._proc is not None else None}

    def run(self, code: str, args: dict[str, Any], timeout: float | None, key: str) -> Reply:
        """Run one item on this node's Blender; its answer, or why none came."""
        for _ in range(STARTS_PER_ITEM):
            if self._proc is None or self._proc.poll() is not None:
                try:
                    self._start()
                except (OSError, RuntimeError) as exc:
                    return Reply(self._node, failure="ConnectError", message=f"Blender did not start: {exc}")
            request = self._calls.exec(code, args, None, timeout)
            request.headers[IDEMPOTENCY_HEADER] = key
            try:
                with translating(self._url):
                    response = self._http.send(request)
            except ConnectError:
                continue  # it died before the item reached it: nothing ran; start another
            except TransportError as exc:
                self._settle()
                return Reply(self._node, failure=type(exc).__name__, message=str(exc))
            return Reply(self._node, status=response.status_code,
                         headers=tuple(response.headers.multi_items()), content=response.content)
        return Reply(self._node, failure="ConnectError",
                     message=f"the Blender on Ray node {self._node} keeps dying before it runs anything")

    def _settle(self) -> None:
        """After a broken connection: give a dying Blender the moment it takes to exit (its
        sockets close before it does), so the next item finds it dead and starts another
        instead of reaching a socket about to go."""
        if self._proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(SETTLE_S)

    def stop(self) -> None:
        """Ask the Blender to finish and exit; kill it after a grace period."""
        proc = self._proc
        self._proc = None
        if proc is not None:
            processes.terminate(proc.pid)
            try:
                proc.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                processes.kill(proc.pid)
                proc.wait()
            processes.release(proc.pid)
        self._http.close()
        shutil.rmtree(self._folder, ignore_errors=True)

    def _start(self) -> None:
        if self._proc is not None:  # a dead one: reap it, close its lifeline
            self._proc.wait()
            processes.release(self._proc.pid)
            self._proc = None
        ready = self._folder / "ready.json"
        ready.unlink(missing_ok=True)
        env = {**os.environ, NODE_ENV: self._node, "BLENDER_HTTP_HOST": "127.0.0.1", "BLENDER_HTTP_PORT": "0",
               "BLENDER_HTTP_READY_FILE": str(ready), "BLENDER_HTTP_TOKEN_FILE": str(self._token_file()),
               **temp.private_temp(self._folder / "tmp")}
        env.pop("BLENDER_HTTP_TOKEN", None)  # the private one, from the file, wins
        with open(self._folder / "blender.log", "ab") as log:
            proc = processes.start_child(self._command(ready), env=env, stdout=log)
        self._proc = proc
        deadline = time.monotonic() + START_TIMEOUT_S
        while not ready.exists():
            if proc.poll() is not None:
                raise RuntimeError(f"Blender exited with status {proc.returncode} before listening "
                                   f"(log: {self._folder / 'blender.log'})")
            if time.monotonic() > deadline:
                processes.kill(proc.pid)
                raise RuntimeError(f"Blender was not listening after {START_TIMEOUT_S:g} s")
            time.sleep(0.02)
        self._url = json.loads(ready.read_text())["url"]
        self._http.base_url = httpx.URL(self._url)
        # Blender read it at start: on disk no longer than that (a killed worker leaves no token).
        (self._folder / "token").unlink(missing_ok=True)

    def _token_file(self) -> Path:
        """The token in a file only this user may read, not in the Blender's environment."""
        path = self._folder / "token"
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(self._token)
        return path

    def _command(self, ready: Path) -> list[str]:
        if self._blender is None:
            return [sys.executable, "-m", "blender_http", "serve", "--port", "0", "--no-record",
                    "--ready-file", str(ready)]
        return [self._blender, "--background", "--factory-startup", "--python", str(launch_script())]
