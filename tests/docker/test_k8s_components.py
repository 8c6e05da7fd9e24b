"""What the rendered manifests promise beyond the policy rules: the autoscalers (KEDA, HPA)
scale the worker StatefulSet on the gateway's work gauges, Prometheus scrapes /metrics with
a key the gateway accepts, GPU workers ask for a GPU on GPU nodes, the workers accept only
the gateway and reach only DNS, and a terminating worker stays in DNS while it drains."""

from __future__ import annotations

from typing import Any

import pytest

from tests.docker import k8s_render
from tests.docker.k8s_render import named, one, pod_labels, pod_spec, selects

Rendered = dict[str, list[dict[str, Any]]]
GAUGES = ("blender_http_gateway_work_waiting", "blender_http_gateway_work_running")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return k8s_render.render_all(tmp_path_factory.mktemp("k8s"))


def container(workload: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = pod_spec(workload)["containers"][0]
    return found


def worker_port(objects: list[dict[str, Any]]) -> int:
    ports = container(one(objects, "StatefulSet", "worker"))["ports"]
    return int(next(p["containerPort"] for p in ports if p["name"] == "http"))


def test_keda_scales_the_worker_statefulset_on_the_work_waiting_and_running(rendered: Rendered) -> None:
    objects = rendered["keda"]
    scaled = one(objects, "ScaledObject", "worker")
    target = scaled["spec"]["scaleTargetRef"]
    assert named(objects, target["kind"], target["name"])["apiVersion"] == target["apiVersion"]
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "prometheus"
    query = " ".join(trigger["metadata"]["query"].split())
    gateway_service = one(objects, "Service", "gateway")["metadata"]["name"]
    # Each worker once (every gateway replica reports every worker), then the sum.
    assert query == ("sum(max by (worker) ("
                     + " + ".join(f'{g}{{job="{gateway_service}"}}' for g in GAUGES) + "))")
    assert trigger["metadata"]["threshold"] == "1"  # one job per worker
    # Never to zero: with no worker the gateway refuses at once, and nothing waits to count.
    assert scaled["spec"]["minReplicaCount"] >= 1


def test_the_hpa_scales_the_worker_statefulset_on_the_adapters_metric(rendered: Rendered) -> None:
    objects = rendered["hpa"]
    hpa = one(objects, "HorizontalPodAutoscaler", "worker")
    target = hpa["spec"]["scaleTargetRef"]
    assert named(objects, target["kind"], target["name"])["kind"] == "StatefulSet"
    (metric,) = hpa["spec"]["metrics"]
    assert metric["external"]["metric"]["name"] == "blender_http_work"
    assert metric["external"]["target"] == {"type": "AverageValue", "averageValue": "1"}
    assert hpa["spec"]["minReplicas"] >= 1
    readme = (k8s_render.K8S.parent / "README.md").read_text()
    assert "as: blender_http_work" in readme, "the adapter rule is documented"


def test_prometheus_scrapes_metrics_with_a_key_the_gateway_accepts(rendered: Rendered) -> None:
    objects = rendered["metrics"]
    monitor = one(objects, "ServiceMonitor", "gateway")
    service = one(objects, "Service", "gateway")
    assert selects(monitor["spec"]["selector"], service["metadata"]["labels"])
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    credentials = endpoint["authorization"]["credentials"]
    secret = named(objects, "Secret", "blender-http-metrics")
    # kustomize put the generated name (with its hash) into the ServiceMonitor too.
    assert credentials["name"] == secret["metadata"]["name"]
    assert credentials["key"] in secret["data"]
    env = {e["name"]: e for e in container(one(objects, "Deployment", "gateway"))["env"]}
    assert env["BLENDER_HTTP_API_KEYS"]["valueFrom"]["secretKeyRef"] == credentials


def test_gpu_workers_ask_for_a_gpu_on_gpu_nodes(rendered: Rendered) -> None:
    objects = rendered["gpu"]
    worker = one(objects, "StatefulSet", "worker")
    assert container(worker)["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in \
        pod_spec(worker)["tolerations"]
    assert pod_spec(worker)["nodeSelector"]
    env = {e["name"]: e["value"] for e in container(worker)["env"] if "value" in e}
    assert "compute" in env["NVIDIA_DRIVER_CAPABILITIES"].split(",")
    # OptiX needs the driver's graphics libraries (libnvoptix).
    assert env["BLENDER_HTTP_CYCLES_DEVICE"] == "OPTIX" and "graphics" in env["NVIDIA_DRIVER_CAPABILITIES"]
    # The patch adds to the worker; its base settings stay.
    assert container(worker)["resources"]["requests"] == container(
        one(rendered["base"], "StatefulSet", "worker"))["resources"]["requests"]
    assert "nvidia.com/gpu" not in container(one(objects, "Deployment", "gateway"))["resources"]["limits"]


def test_workers_accept_only_the_gateway_and_reach_only_dns(rendered: Rendered) -> None:
    objects = rendered["base"]
    policy = one(objects, "NetworkPolicy", "worker")
    worker = one(objects, "StatefulSet", "worker")
    gateway = one(objects, "Deployment", "gateway")
    assert selects(policy["spec"]["podSelector"], pod_labels(worker))
    (rule,) = policy["spec"]["ingress"]
    (source,) = rule["from"]
    assert source.keys() == {"podSelector"}  # pods of this namespace only
    assert selects(source["podSelector"], pod_labels(gateway))
    assert not selects(source["podSelector"], pod_labels(worker))
    assert [p["port"] for p in rule["ports"]] == ["http"]
    assert worker_port(objects) == next(p["containerPort"] for p in container(worker)["ports"]
                                        if p["name"] == "http")
    ports = {(p["protocol"], p["port"]) for r in policy["spec"]["egress"] for p in r["ports"]}
    assert ports == {("UDP", 53), ("TCP", 53)}


def test_the_gateway_reaches_the_workers_on_their_port(rendered: Rendered) -> None:
    objects = rendered["base"]
    policy = one(objects, "NetworkPolicy", "gateway")
    assert selects(policy["spec"]["podSelector"], pod_labels(one(objects, "Deployment", "gateway")))
    to_workers = [r for r in policy["spec"]["egress"]
                  if any(selects(t.get("podSelector", {}), pod_labels(one(objects, "StatefulSet", "worker")))
                         and "namespaceSelector" not in t for t in r["to"])]
    assert [p["port"] for r in to_workers for p in r["ports"]] == [worker_port(objects)]


def test_a_terminating_worker_stays_in_dns_while_it_drains(rendered: Rendered) -> None:
    objects = rendered["base"]
    service = one(objects, "Service", "worker")
    # The gateway drops an address that leaves DNS and fails what it had open there; a
    # terminating worker instead stays listed, says "stopping" on /health, and finishes.
    assert service["spec"]["publishNotReadyAddresses"] is True
    worker = one(objects, "StatefulSet", "worker")
    assert "lifecycle" not in container(worker), "SIGTERM itself starts the drain"
    assert pod_spec(worker)["terminationGracePeriodSeconds"] >= 300


def test_every_generated_secret_comes_from_a_folder_git_ignores() -> None:
    ignored = (k8s_render.K8S.parent / ".gitignore").read_text().splitlines()
    files = k8s_render.secret_files(k8s_render.K8S)
    assert {path.relative_to(k8s_render.K8S).as_posix() for path in files} == {
        "secrets/token", "secrets/api-keys", "components/metrics/secrets/metrics-key"}
    # "secrets/" without a leading slash: a folder of that name at any depth.
    assert "secrets/" in ignored
    assert all(path.parent.name == "secrets" for path in files)


@pytest.mark.parametrize("overlay", ["keda", "hpa"])
def test_the_autoscaler_owns_the_worker_count(rendered: Rendered, overlay: str) -> None:
    # With replicas in the manifest, every `kubectl apply` would undo the autoscaler's count.
    assert "replicas" not in one(rendered[overlay], "StatefulSet", "worker")["spec"]
    assert one(rendered["base"], "StatefulSet", "worker")["spec"]["replicas"] == 2
