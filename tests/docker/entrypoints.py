"""An image's entrypoint script started outside a container: the image's ENV, with the
paths and port of this machine, and the secret in a temporary file."""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.blender import servers
from tests.conftest import missing
from tests.docker import dockerfiles

# The token the tests put in the secret file the images read.
TOKEN = "worker-secret"

# Where the images put their own programs; here they are the virtualenv's.
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def worker_images() -> list[Path]:
    """The Dockerfiles of the worker images (folders docker/worker*)."""
    return [path for path in dockerfiles.dockerfiles() if path.parent.name.startswith("worker")]


def worker_env(dockerfile: Path, folder: Path, port: int, **overrides: str) -> dict[str, str]:
    """A worker image's ENV with this machine's paths: secret file, port, work folder."""
    token_file = folder / "token"
    token_file.write_text(TOKEN + "\n")
    local = {"BLENDER_HTTP_TOKEN_FILE": str(token_file), "BLENDER_HTTP_PORT": str(port),
             "BLENDER_HTTP_WORKDIR": str(folder / "work")}
    return environment(dockerfile, **{**local, **overrides})


def require_blender_for(env: dict[str, str]) -> None:
    """Skip (or fail in CI) when the Blender this worker's mode runs is not here; the
    entrypoint's modes are the server's modes."""
    reason = servers.availability(env["BLENDER_HTTP_WORKER_MODE"])
    if reason:
        missing(reason)


def script_of(dockerfile: Path) -> Path:
    """The repository file the image runs as its entrypoint (under tini)."""
    command = dockerfiles.entrypoint(dockerfile)
    assert command[:2] == ["/usr/bin/tini", "--"], f"{dockerfile}: tini must be PID 1"
    return dockerfiles.ROOT / dockerfiles.copied_files(dockerfile)[f"/usr/local/bin/{command[2]}"]


def environment(dockerfile: Path, **overrides: str) -> dict[str, str]:
    """This process's environment without BLENDER_HTTP_* settings, then the image's ENV
    (but PATH: this machine's, the virtualenv's programs first), then overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLENDER_HTTP_")}
    env.update({k: v for k, v in dockerfiles.image_env(dockerfile).items() if k != "PATH"})
    env.update(overrides)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    return env


START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0


@dataclasses.dataclass
class Started:
    """An entrypoint script running in its own process group."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def wait_healthy(self) -> None:
        """Until GET /health answers 200; fail with the log if the process ends first."""
        deadline = time.monotonic() + START_TIMEOUT_S
        with httpx.Client(timeout=2.0, trust_env=False) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise AssertionError(f"exited with {self.proc.returncode}:\n{self.log_text()}")
                try:
                    if http.get(self.url + "/health").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        raise AssertionError(f"{self.url}/health did not answer:\n{self.log_text()}")

    def wait(self) -> int:
        """The exit status, once the process ends on its own."""
        return self.proc.wait(STOP_TIMEOUT_S)

    def terminate(self) -> int:
        """SIGTERM to the process started (what `docker stop` sends), then its exit status."""
        self.proc.send_signal(signal.SIGTERM)
        return self.wait()

    def group_alive(self) -> bool:
        """True while any process of the group started is left."""
        try:
            os.killpg(self.proc.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def kill(self) -> None:
        """End whatever of the group started is left (test teardown)."""
        if self.group_alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def start(script: Path, env: dict[str, str], log: Path, port: int, *args: str) -> Started:
    """Run script with env in a new process group, output to log."""
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(script), *args], stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)
    return Started(proc=proc, url=f"http://127.0.0.1:{port}", log=log)
