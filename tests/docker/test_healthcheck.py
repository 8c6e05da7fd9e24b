"""docker/healthcheck.py, the images' HEALTHCHECK: 0 on 200 from /health on the port the
server reads, 1 otherwise, 2 for a wrong role; never through a proxy."""

from __future__ import annotations

import http.server
import os
import subprocess
import threading
from collections.abc import Iterator

import pytest

from tests.docker import dockerfiles, entrypoints

SCRIPT = dockerfiles.DOCKER / "healthcheck.py"


class Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/health" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def answering() -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def run(role: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("BLENDER_HTTP_")}
    return subprocess.run([str(SCRIPT), role], env={**full, **env}, capture_output=True, text=True,
                          timeout=30, check=False)


@pytest.mark.parametrize(("role", "variable"), [("worker", "BLENDER_HTTP_PORT"),
                                                 ("gateway", "BLENDER_HTTP_GATEWAY_PORT")])
def test_200_is_healthy_on_the_port_the_server_reads(
        answering: http.server.ThreadingHTTPServer, role: str, variable: str) -> None:
    port = str(answering.server_address[1])
    # A proxy from the environment must not be used for the container's own loopback.
    checked = run(role, **{variable: port}, http_proxy="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9")
    assert checked.returncode == 0, checked.stderr


def test_503_is_unhealthy(answering: http.server.ThreadingHTTPServer,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Health, "status", 503)
    checked = run("gateway", BLENDER_HTTP_GATEWAY_PORT=str(answering.server_address[1]))
    assert checked.returncode == 1
    assert "answered 503" in checked.stderr


def test_nothing_listening_is_unhealthy() -> None:
    checked = run("worker", BLENDER_HTTP_PORT=str(entrypoints.free_port()))
    assert checked.returncode == 1
    assert "unhealthy" in checked.stderr


@pytest.mark.parametrize("args", [[], ["database"]])
def test_a_wrong_role_is_a_usage_error(args: list[str]) -> None:
    checked = subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=30,
                             check=False)
    assert checked.returncode == 2
    assert "usage" in checked.stderr


def test_the_defaults_are_the_servers() -> None:
    env = {**dockerfiles.image_env(dockerfiles.DOCKER / "worker" / "Dockerfile"),
           **dockerfiles.image_env(dockerfiles.DOCKER / "gateway" / "Dockerfile")}
    source = SCRIPT.read_text()
    assert f'("BLENDER_HTTP_PORT", "{env["BLENDER_HTTP_PORT"]}")' in source
    assert f'("BLENDER_HTTP_GATEWAY_PORT", "{env["BLENDER_HTTP_GATEWAY_PORT"]}")' in source
