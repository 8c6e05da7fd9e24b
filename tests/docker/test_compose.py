"""docker/compose.yaml: a gateway and scalable workers it finds by DNS, health checks that
are the images' own, and the token and API keys as secrets where the images read them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.docker import dockerfiles

COMPOSE = dockerfiles.DOCKER / "compose.yaml"
SECRETS_AT = "/run/secrets/"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return document


def interpolate(text: str) -> str:
    """Compose's ${NAME:-default}, with every variable unset."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", text)


def dockerfile_of(service: dict[str, Any]) -> Path:
    build = service["build"]
    context = (COMPOSE.parent / build["context"]).resolve()
    assert context == dockerfiles.ROOT, "the build context is the repository root"
    path = context / interpolate(build["dockerfile"])
    assert path.is_file(), path
    return path


def test_the_services_are_a_gateway_and_workers(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"gateway", "worker"}
    assert dockerfile_of(compose["services"]["gateway"]).parent.name == "gateway"
    assert dockerfile_of(compose["services"]["worker"]).parent.name == "worker"


def test_every_worker_variant_is_an_image() -> None:
    worker = yaml.safe_load(COMPOSE.read_text())["services"]["worker"]
    variable = re.search(r"\$\{(\w+):-", worker["build"]["dockerfile"])
    assert variable, "the worker image is chosen by a variable"
    # The comment at the top names the other choice; it must exist.
    for name in re.findall(variable.group(1) + r"=([\w-]+)", COMPOSE.read_text()):
        assert (dockerfiles.DOCKER / name / "Dockerfile").is_file(), name


def test_workers_scale_because_they_publish_no_port(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    # A published host port would clash at --scale worker=2; container_name likewise.
    assert "ports" not in worker and "container_name" not in worker
    assert "container_name" not in compose["services"]["gateway"]


def test_the_gateway_finds_the_workers_by_their_service_name(compose: dict[str, Any]) -> None:
    gateway = compose["services"]["gateway"]
    env = {**dockerfiles.image_env(dockerfile_of(gateway)), **environment_of(gateway)}
    worker = compose["services"]["worker"]
    worker_env = {**dockerfiles.image_env(dockerfile_of(worker)), **environment_of(worker)}
    backends = env["BLENDER_HTTP_GATEWAY_BACKENDS"].split(",")
    assert [(urlsplit(b).hostname, urlsplit(b).port) for b in backends] == [
        ("worker", int(worker_env["BLENDER_HTTP_PORT"]))]
    assert gateway["depends_on"]["worker"]["condition"] == "service_healthy"
    published = gateway["ports"]
    assert [p.split(":")[-1] for p in published] == [env["BLENDER_HTTP_GATEWAY_PORT"]]


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment", {})
    if isinstance(environment, list):
        return dict(item.split("=", 1) for item in environment)
    return {k: str(v) for k, v in environment.items()}


@pytest.mark.parametrize("name", ["gateway", "worker"])
def test_the_health_check_is_the_images(compose: dict[str, Any], name: str) -> None:
    service = compose["services"][name]
    check = service["healthcheck"]
    assert check["test"] == ["CMD", "blender-http-healthcheck", name]
    image_check = next(i.arguments for i in dockerfiles.instructions(dockerfile_of(service))
                       if i.keyword == "HEALTHCHECK")
    assert image_check.endswith(f'CMD ["blender-http-healthcheck", "{name}"]')
    for option in ("interval", "timeout", "start_period", "retries"):
        flag = "--" + option.replace("_", "-")
        assert f"{flag}={check[option]}" in image_check, option


def test_secrets_are_mounted_where_the_images_read_them(compose: dict[str, Any]) -> None:
    declared = compose["secrets"]
    for name, service in compose["services"].items():
        env = {**dockerfiles.image_env(dockerfile_of(service)), **environment_of(service)}
        files = dockerfiles.secret_files(env)
        assert files, f"{name} reads no secret file"
        for variable, path in files.items():
            assert path.startswith(SECRETS_AT), variable
            secret = path[len(SECRETS_AT):]
            assert secret in service["secrets"], f"{name}: {variable} needs secret {secret}"
            assert secret in declared
    assert set(compose["services"]["worker"]["secrets"]) == {"blender_http_token"}


def test_secret_files_live_in_an_ignored_folder(compose: dict[str, Any]) -> None:
    for secret in compose["secrets"].values():
        path = (COMPOSE.parent / secret["file"]).resolve()
        assert path.parent == dockerfiles.DOCKER / "secrets"
    assert "secrets/" in (dockerfiles.DOCKER / ".gitignore").read_text().splitlines()


def test_stopping_a_worker_leaves_time_for_the_running_job(compose: dict[str, Any]) -> None:
    grace = compose["services"]["worker"]["stop_grace_period"]
    assert re.fullmatch(r"\d+s", grace) and int(grace[:-1]) >= 30
