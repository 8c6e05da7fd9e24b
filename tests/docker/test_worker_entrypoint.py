"""Every worker image's entrypoint, run outside a container against a real Blender with the
variables the image sets: it serves on every address with the token from the secret file,
answers /health and the health-check script, and stops gracefully on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.docker import dockerfiles, entrypoints

pytestmark = pytest.mark.blender

WORKER_IMAGES = entrypoints.worker_images()


def test_there_is_a_worker_image() -> None:
    assert WORKER_IMAGES


@pytest.fixture(params=WORKER_IMAGES, ids=lambda path: path.parent.name)
def dockerfile(request: pytest.FixtureRequest) -> Path:
    path: Path = request.param
    return path


@pytest.fixture
def worker(dockerfile: Path, tmp_path: Path) -> Iterator[entrypoints.Started]:
    """The image's entrypoint, serving and healthy."""
    port = entrypoints.free_port()
    env = entrypoints.worker_env(dockerfile, tmp_path, port)
    entrypoints.require_blender_for(env)
    started = entrypoints.start(entrypoints.script_of(dockerfile), env, tmp_path / "worker.log", port)
    try:
        started.wait_healthy()
        yield started
    finally:
        started.kill()


def test_the_image_binds_every_address_with_the_token_from_a_file(dockerfile: Path) -> None:
    env = dockerfiles.image_env(dockerfile)
    assert env["BLENDER_HTTP_HOST"] == "0.0.0.0"
    assert env["BLENDER_HTTP_TOKEN_FILE"].startswith("/run/secrets/")
    assert "BLENDER_HTTP_TOKEN" not in env


def test_the_worker_serves_with_the_token_from_the_file(worker: entrypoints.Started,
                                                       dockerfile: Path) -> None:
    mode = dockerfiles.image_env(dockerfile)["BLENDER_HTTP_WORKER_MODE"]
    with httpx.Client(base_url=worker.url, timeout=60.0, trust_env=False) as http:
        health = http.get("/health").json()
        assert (health["status"], health["mode"]) == ("ok", mode)
        refused = http.post("/exec", json={"code": "1 + 1"})
        assert refused.status_code == 401, refused.text
        answer = http.post("/exec", json={"code": "import bpy\nbpy.app.version_string"},
                           headers={"Authorization": f"Bearer {entrypoints.TOKEN}"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"] == health["blender"]


def test_the_health_check_script_sees_the_worker(worker: entrypoints.Started, dockerfile: Path,
                                                 tmp_path: Path) -> None:
    port = worker.url.rsplit(":", 1)[1]
    env = entrypoints.environment(dockerfile, BLENDER_HTTP_PORT=port)
    assert healthcheck(env).returncode == 0
    env["BLENDER_HTTP_PORT"] = str(entrypoints.free_port())
    unhealthy = healthcheck(env)
    assert unhealthy.returncode == 1
    assert "unhealthy" in unhealthy.stderr


def healthcheck(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(dockerfiles.DOCKER / "healthcheck.py"), "worker"], env=env,
                          capture_output=True, text=True, timeout=30, check=False)


def test_sigterm_finishes_the_running_job_then_exits_0(worker: entrypoints.Started,
                                                       tmp_path: Path) -> None:
    release = tmp_path / "release"
    auth = {"Authorization": f"Bearer {entrypoints.TOKEN}"}
    answers: list[httpx.Response] = []
    # The job waits for a file, so it is surely running when SIGTERM arrives.
    code = ("import os, time\nwhile not os.path.exists(args['release']):\n    time.sleep(0.01)\n"
            "'finished'")

    def run_job() -> None:
        with httpx.Client(base_url=worker.url, timeout=120.0, trust_env=False) as http:
            answers.append(http.post("/exec", json={"code": code, "args": {"release": str(release)}},
                                     headers=auth))

    job = threading.Thread(target=run_job)
    job.start()
    with httpx.Client(base_url=worker.url, timeout=30.0, trust_env=False) as http:
        wait_for(lambda: http.get("/health").json()["busy"], "the job to run")
        worker.proc.send_signal(signal.SIGTERM)
        wait_for(lambda: http.get("/health").json()["status"] != "ok", "the worker to stop")
        refused = http.post("/exec", json={"code": "1"}, headers=auth)
    assert refused.status_code == 503, refused.text
    release.touch()
    job.join(120)
    assert [a.json()["result"] for a in answers] == ["finished"]
    assert worker.wait() == 0, worker.log_text()
    assert not worker.group_alive()


def wait_for(predicate: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + 60.0
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_a_missing_token_file_stops_the_worker_with_exit_2(dockerfile: Path, tmp_path: Path) -> None:
    port = entrypoints.free_port()
    env = entrypoints.worker_env(dockerfile, tmp_path, port,
                     BLENDER_HTTP_TOKEN_FILE=str(tmp_path / "no-such-secret"))
    entrypoints.require_blender_for(env)
    started = entrypoints.start(entrypoints.script_of(dockerfile), env, tmp_path / "worker.log", port)
    try:
        assert started.wait() == 2
    finally:
        started.kill()
    assert "BLENDER_HTTP_TOKEN_FILE" in started.log_text()
    assert "no-such-secret" in started.log_text()


def test_an_unknown_mode_is_refused_with_exit_2(dockerfile: Path, tmp_path: Path) -> None:
    port = entrypoints.free_port()
    env = entrypoints.worker_env(dockerfile, tmp_path, port, BLENDER_HTTP_WORKER_MODE="gui")
    started = entrypoints.start(entrypoints.script_of(dockerfile), env, tmp_path / "worker.log", port)
    assert started.wait() == 2
    assert "BLENDER_HTTP_WORKER_MODE" in started.log_text()
