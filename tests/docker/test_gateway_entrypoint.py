"""The gateway image's entrypoint, run outside a container with the variables the image
sets, in front of the worker image's entrypoint on a real Blender: API keys and the worker
token from secret files, /health and the health-check script, SIGTERM -> exit 0."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.docker import dockerfiles, entrypoints

pytestmark = pytest.mark.blender

GATEWAY = dockerfiles.DOCKER / "gateway" / "Dockerfile"
WORKER = dockerfiles.DOCKER / "worker" / "Dockerfile"
API_KEY = "gateway-key-for-tests"


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[entrypoints.Started]:
    """The worker image's entrypoint, healthy, its token in a secret file."""
    folder = tmp_path_factory.mktemp("worker")
    port = entrypoints.free_port()
    env = entrypoints.worker_env(WORKER, folder, port)
    entrypoints.require_blender_for(env)
    started = entrypoints.start(entrypoints.script_of(WORKER), env, folder / "worker.log", port)
    try:
        started.wait_healthy()
        yield started
    finally:
        started.kill()


def gateway_env(folder: Path, worker: entrypoints.Started, port: int,
                **overrides: str) -> dict[str, str]:
    """The gateway image's ENV with this machine's secret files, port and worker."""
    keys = folder / "api-keys"
    keys.write_text(f"# one key per line\n{API_KEY}\n")
    token = folder / "token"
    token.write_text(entrypoints.TOKEN + "\n")
    local = {"BLENDER_HTTP_API_KEYS_FILE": str(keys), "BLENDER_HTTP_TOKEN_FILE": str(token),
             "BLENDER_HTTP_GATEWAY_PORT": str(port), "BLENDER_HTTP_GATEWAY_BACKENDS": worker.url}
    return entrypoints.environment(GATEWAY, **{**local, **overrides})


@pytest.fixture
def gateway(worker: entrypoints.Started, tmp_path: Path) -> Iterator[entrypoints.Started]:
    port = entrypoints.free_port()
    env = gateway_env(tmp_path, worker, port)
    started = entrypoints.start(entrypoints.script_of(GATEWAY), env, tmp_path / "gateway.log", port)
    try:
        started.wait_healthy()
        yield started
    finally:
        started.kill()


def test_the_image_binds_every_address_and_finds_workers_by_dns() -> None:
    env = dockerfiles.image_env(GATEWAY)
    assert env["BLENDER_HTTP_GATEWAY_HOST"] == "0.0.0.0"
    assert env["BLENDER_HTTP_GATEWAY_BACKENDS"] == "http://worker:7777"
    assert env["BLENDER_HTTP_API_KEYS_FILE"].startswith("/run/secrets/")
    # The same secret file the workers read their token from.
    assert env["BLENDER_HTTP_TOKEN_FILE"] == dockerfiles.image_env(WORKER)["BLENDER_HTTP_TOKEN_FILE"]


def test_the_gateway_runs_code_on_the_worker_with_keys_from_the_file(
        gateway: entrypoints.Started) -> None:
    with httpx.Client(base_url=gateway.url, timeout=60.0, trust_env=False) as http:
        assert http.get("/health").json()["status"] == "ok"  # open to probes
        health = http.get("/health", headers={"Authorization": f"Bearer {API_KEY}"})
        assert health.status_code == 200, health.text
        assert [b["healthy"] for b in health.json()["backends"]] == [True]
        refused = http.post("/exec", json={"code": "1 + 1"})
        assert refused.status_code == 401, refused.text
        answer = http.post("/exec", json={"code": "import bpy\nbpy.app.version_string"},
                           headers={"Authorization": f"Bearer {API_KEY}"})
    # The worker accepted the gateway's token, read by both from their secret files.
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"] == health.json()["backends"][0]["blender"]


def test_the_health_check_script_sees_the_gateway(gateway: entrypoints.Started) -> None:
    port = gateway.url.rsplit(":", 1)[1]
    env = entrypoints.environment(GATEWAY, BLENDER_HTTP_GATEWAY_PORT=port)
    checked = subprocess.run([str(dockerfiles.DOCKER / "healthcheck.py"), "gateway"], env=env,
                             capture_output=True, text=True, timeout=30, check=False)
    assert checked.returncode == 0, checked.stderr


def test_sigterm_stops_the_gateway_with_exit_0(gateway: entrypoints.Started) -> None:
    assert gateway.terminate() == 0, gateway.log_text()
    assert not gateway.group_alive()


def test_a_missing_api_key_file_stops_the_gateway_with_exit_2(worker: entrypoints.Started,
                                                              tmp_path: Path) -> None:
    port = entrypoints.free_port()
    env = gateway_env(tmp_path, worker, port,
                      BLENDER_HTTP_API_KEYS_FILE=str(tmp_path / "no-such-keys"))
    started = entrypoints.start(entrypoints.script_of(GATEWAY), env, tmp_path / "gateway.log", port)
    try:
        assert started.wait() == 2
    finally:
        started.kill()
    assert "no-such-keys" in started.log_text()
