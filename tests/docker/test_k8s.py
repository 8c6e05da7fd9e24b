"""docker/k8s: every manifest valid against the Kubernetes schemas (shipped with
kubernetes-validate, so offline), workers behind a headless Service with probes on /health,
a gateway that finds them by that Service's DNS name, and one Secret for token and keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.docker import dockerfiles

K8S = dockerfiles.DOCKER / "k8s"
KUSTOMIZATION = K8S / "kustomization.yaml"
# The oldest Kubernetes still commonly run, and the newest the validator knows.
KUBERNETES_VERSIONS = ["1.30", "latest"]


def manifests() -> list[Path]:
    return sorted(path for path in K8S.glob("*.yaml") if path != KUSTOMIZATION)


def resources() -> list[dict[str, Any]]:
    return [doc for path in manifests() for doc in yaml.safe_load_all(path.read_text()) if doc]


def one(kind: str, component: str) -> dict[str, Any]:
    found = [r for r in resources() if r["kind"] == kind
             and r["metadata"]["labels"]["app.kubernetes.io/component"] == component]
    assert len(found) == 1, f"one {kind} for the {component}"
    return found[0]


def container(workload: dict[str, Any]) -> dict[str, Any]:
    containers = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    found: dict[str, Any] = containers[0]
    return found


def env_of(workload: dict[str, Any], dockerfile: Path) -> dict[str, str]:
    """What the container sees: the image's ENV, then the manifest's env."""
    env = dockerfiles.image_env(dockerfile)
    env.update({item["name"]: item["value"] for item in container(workload).get("env", [])
                if "value" in item})
    return env


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("resource", resources(),
                         ids=lambda r: f"{r['kind']}/{r['metadata']['name']}")
def test_every_resource_is_valid_for_kubernetes(resource: dict[str, Any], version: str) -> None:
    from kubernetes_validate import utils

    if version == "latest":
        version = utils.latest_version()
    # strict: a misspelt or misplaced field is an error, not silently dropped.
    utils.validate(resource, version, strict=True)


def test_the_validator_works_offline_and_catches_mistakes() -> None:
    import kubernetes_validate
    from kubernetes_validate.utils import ValidationError

    schemas = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    assert any(schemas.glob(f"v{KUBERNETES_VERSIONS[0]}*-local-strict/statefulset-apps-v1.json"))
    broken = one("StatefulSet", "worker")
    broken = {**broken, "spec": {**broken["spec"], "replica": 2}}
    with pytest.raises(ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[0], strict=True)


def test_the_workers_are_a_statefulset_behind_a_headless_service() -> None:
    service = one("Service", "worker")
    workers = one("StatefulSet", "worker")
    assert service["spec"]["clusterIP"] == "None"
    assert workers["spec"]["serviceName"] == service["metadata"]["name"]
    labels = workers["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert workers["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_worker_probes_tell_a_long_call_from_a_hung_worker() -> None:
    """Start-up asks /health; liveness and readiness run the probe that looks at the server's
    CPU time when /health is silent (docker/liveness.py), installed by both worker images,
    which also set the ready file it reads the pid from."""
    worker = container(one("StatefulSet", "worker"))
    assert worker["startupProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    for probe in ("readinessProbe", "livenessProbe"):
        assert worker[probe]["exec"]["command"] == ["blender-http-liveness"], probe
    for image in ("worker", "worker-debian"):
        dockerfile = dockerfiles.DOCKER / image / "Dockerfile"
        copied = dockerfiles.copied_files(dockerfile)
        assert copied["/usr/local/bin/blender-http-liveness"] == "docker/liveness.py"
        assert dockerfiles.image_env(dockerfile)["BLENDER_HTTP_READY_FILE"].startswith("/tmp/")


def test_the_gateway_is_ready_only_with_a_healthy_worker() -> None:
    gateway = container(one("Deployment", "gateway"))
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/health"
    # Liveness does not ask /health: it answers 503 when the workers are down, and
    # restarting the gateway would not bring them back.
    assert "tcpSocket" in gateway["livenessProbe"]


def test_ports_agree_with_the_images() -> None:
    worker_port = int(env_of(one("StatefulSet", "worker"), worker_dockerfile())["BLENDER_HTTP_PORT"])
    gateway_env = env_of(one("Deployment", "gateway"), gateway_dockerfile())
    assert port_named("http", one("StatefulSet", "worker")) == worker_port
    assert port_named("http", one("Deployment", "gateway")) == int(
        gateway_env["BLENDER_HTTP_GATEWAY_PORT"])
    assert one("Service", "worker")["spec"]["ports"][0]["port"] == worker_port


def port_named(name: str, workload: dict[str, Any]) -> int:
    ports = {p["name"]: p["containerPort"] for p in container(workload)["ports"]}
    return ports[name]


def worker_dockerfile() -> Path:
    return dockerfiles.DOCKER / "worker" / "Dockerfile"


def gateway_dockerfile() -> Path:
    return dockerfiles.DOCKER / "gateway" / "Dockerfile"


def test_the_gateway_finds_the_workers_by_the_headless_service_name() -> None:
    env = env_of(one("Deployment", "gateway"), gateway_dockerfile())
    service = one("Service", "worker")
    backends = [urlsplit(url) for url in env["BLENDER_HTTP_GATEWAY_BACKENDS"].split(",")]
    assert [(b.hostname, b.port) for b in backends] == [
        (service["metadata"]["name"], service["spec"]["ports"][0]["port"])]


@pytest.mark.parametrize(("kind", "component", "dockerfile"), [
    ("StatefulSet", "worker", worker_dockerfile()), ("Deployment", "gateway", gateway_dockerfile()),
])
def test_secret_files_are_mounted_from_the_generated_secret(kind: str, component: str,
                                                            dockerfile: Path) -> None:
    workload = one(kind, component)
    env = env_of(workload, dockerfile)
    mounts = {m["name"]: m["mountPath"] for m in container(workload)["volumeMounts"]}
    volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"]["volumes"]}
    generated = secret_keys()
    for variable in dockerfiles.secret_files(env):
        folder, _, filename = env[variable].rpartition("/")
        (volume,) = [name for name, path in mounts.items() if path == folder]
        secret = volumes[volume]["secret"]
        assert secret["secretName"] in generated, variable
        items = {i["path"]: i["key"] for i in secret.get("items", [])}
        key = items.get(filename, filename) if items else filename
        assert key in generated[secret["secretName"]], variable


def secret_keys() -> dict[str, set[str]]:
    """Secret name -> its keys, as the kustomization's secretGenerator makes them."""
    kustomization = yaml.safe_load(KUSTOMIZATION.read_text())
    return {generator["name"]: {entry.split("=", 1)[0] for entry in generator["files"]}
            for generator in kustomization["secretGenerator"]}


def test_the_kustomization_deploys_every_manifest_and_secrets_stay_out_of_git() -> None:
    kustomization = yaml.safe_load(KUSTOMIZATION.read_text())
    assert sorted(kustomization["resources"]) == sorted(path.name for path in manifests())
    for generator in kustomization["secretGenerator"]:
        for entry in generator["files"]:
            assert entry.split("=", 1)[1].startswith("secrets/")
    assert "secrets/" in (dockerfiles.DOCKER / ".gitignore").read_text().splitlines()


@pytest.mark.parametrize(("kind", "component"), [("StatefulSet", "worker"), ("Deployment", "gateway")])
def test_pods_request_resources_and_run_unprivileged(kind: str, component: str) -> None:
    workload = one(kind, component)
    pod = workload["spec"]["template"]["spec"]
    requests = container(workload)["resources"]["requests"]
    assert {"cpu", "memory"} <= requests.keys()
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    assert container(workload)["securityContext"]["allowPrivilegeEscalation"] is False


def test_images_are_the_ones_compose_builds() -> None:
    compose = yaml.safe_load((dockerfiles.DOCKER / "compose.yaml").read_text())
    built = {name: service["image"].replace("${BLENDER_HTTP_WORKER:-worker}", "worker")
             for name, service in compose["services"].items()}
    assert container(one("StatefulSet", "worker"))["image"] == built["worker"]
    assert container(one("Deployment", "gateway"))["image"] == built["gateway"]
