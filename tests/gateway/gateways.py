"""A real gateway (uvicorn in a subprocess) on a free port, in front of real workers."""

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

START_TIMEOUT = 120.0


@dataclasses.dataclass
class Gateway:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    key: str | None

    def client(self, key: str | None = "default", **kwargs: object) -> httpx.Client:
        key = self.key if key == "default" else key
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60.0, trust_env=False,
                            **kwargs)  # type: ignore[arg-type]

    def stop(self) -> int:
        """SIGTERM the gateway we started (it stops its spawned workers), SIGKILL as a last resort."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# `blender-http gateway` as the package's own module runs it; a test of the CLI (or of
# another interpreter) gives its own command.
GATEWAY_COMMAND = (sys.executable, "-m", "blender_http_gateway")


def start(folder: Path, *args: str, key: str | None = None, env: dict[str, str] | None = None,
          healthy: bool = True, command: tuple[str, ...] = GATEWAY_COMMAND,
          cwd: Path | None = None) -> Gateway:
    """`command --port P *args`; returns once /health answers (200 if healthy)."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = folder / f"gateway-{port}.log"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("BLENDER_HTTP_")}
    if key:
        full_env["BLENDER_HTTP_API_KEYS"] = key
    full_env.update(env or {})
    with open(log, "wb") as out:
        proc = subprocess.Popen([*command, "--port", str(port), *args],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                env=full_env, start_new_session=True, cwd=cwd)
    gateway = Gateway(url=f"http://127.0.0.1:{port}", proc=proc, log=log, key=key)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gateway exited with {proc.returncode}:\n{gateway.log_text()}")
        try:
            status = httpx.get(gateway.url + "/health", timeout=2.0, trust_env=False).status_code
            if status == 200 or (status == 503 and not healthy):
                return gateway
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    gateway.stop()
    raise RuntimeError(f"gateway did not answer /health:\n{gateway.log_text()}")
