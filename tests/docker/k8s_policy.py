"""What a cluster operator's policy check asks of the rendered manifests, one rule a function.

No policy linter is packaged where the project gets its tools (kube-linter and kube-score
are not; checkov is, but brings about seventy packages), so the rules are written here:
each takes every object of one rendering and returns its problems, one line each."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tests.docker.k8s_render import pod_labels, pod_spec, selects, workloads

Objects = list[dict[str, Any]]
Rule = Callable[[Objects], list[str]]

QUANTITY = re.compile(r"^(\d+)(Ki|Mi|Gi|Ti)?$")
UNITS = {None: 1, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def quantity(text: str) -> int:
    """Bytes of a binary-suffixed Kubernetes quantity (the only kind these manifests use)."""
    match = QUANTITY.match(str(text))
    assert match, f"not a byte quantity: {text!r}"
    return int(match.group(1)) * UNITS[match.group(2)]


def _name(workload: dict[str, Any], container: dict[str, Any] | None = None) -> str:
    where = f"{workload['kind']}/{workload['metadata']['name']}"
    return f"{where} container {container['name']}" if container else where


def _containers(objects: Objects) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(w, c) for w in workloads(objects)
            for c in pod_spec(w).get("initContainers", []) + pod_spec(w)["containers"]]


def runs_as_non_root(objects: Objects) -> list[str]:
    """Pods run as a numeric non-root user (the images' uid 10001), so the kubelet can check."""
    problems = []
    for w in workloads(objects):
        context = pod_spec(w).get("securityContext", {})
        if context.get("runAsNonRoot") is not True or not context.get("runAsUser"):
            problems.append(f"{_name(w)}: runAsNonRoot and a non-zero runAsUser")
    return problems


def drops_all_capabilities(objects: Objects) -> list[str]:
    return [f"{_name(w, c)}: capabilities.drop [ALL], no privilege escalation, not privileged"
            for w, c in _containers(objects)
            if c.get("securityContext", {}).get("capabilities", {}).get("drop") != ["ALL"]
            or c["securityContext"].get("allowPrivilegeEscalation") is not False
            or c["securityContext"].get("privileged") or c["securityContext"]["capabilities"].get("add")]


def seccomp_runtime_default(objects: Objects) -> list[str]:
    return [f"{_name(w)}: seccompProfile RuntimeDefault" for w in workloads(objects)
            if pod_spec(w).get("securityContext", {}).get("seccompProfile", {}).get("type")
            != "RuntimeDefault"]


def read_only_root(objects: Objects) -> list[str]:
    """Every container's root file system is read-only: what it writes goes to volumes."""
    return [f"{_name(w, c)}: readOnlyRootFilesystem" for w, c in _containers(objects)
            if c.get("securityContext", {}).get("readOnlyRootFilesystem") is not True]


def no_host_access(objects: Objects) -> list[str]:
    problems = []
    for w in workloads(objects):
        spec = pod_spec(w)
        if any(spec.get(k) for k in ("hostNetwork", "hostPID", "hostIPC")):
            problems.append(f"{_name(w)}: shares a host namespace")
        if any("hostPath" in v for v in spec.get("volumes", [])):
            problems.append(f"{_name(w)}: mounts a hostPath")
        if any(p.get("hostPort") for _, c in _containers([w]) for p in c.get("ports", [])):
            problems.append(f"{_name(w)}: binds a hostPort")
    return problems


def no_service_account_token(objects: Objects) -> list[str]:
    """No Kubernetes credentials in pods that run code API key holders send."""
    return [f"{_name(w)}: automountServiceAccountToken false" for w in workloads(objects)
            if pod_spec(w).get("automountServiceAccountToken") is not False]


def resources_requested_and_limited(objects: Objects) -> list[str]:
    """Requests: cpu, memory, ephemeral-storage (the scheduler places by them); limits:
    memory and ephemeral-storage (a runaway job is stopped, not the node). No CPU limit is
    asked: throttling a render only makes it slower."""
    problems = []
    for w, c in _containers(objects):
        resources = c.get("resources", {})
        for kind in ("cpu", "memory", "ephemeral-storage"):
            if kind not in resources.get("requests", {}):
                problems.append(f"{_name(w, c)}: requests {kind}")
        for kind in ("memory", "ephemeral-storage"):
            if kind not in resources.get("limits", {}):
                problems.append(f"{_name(w, c)}: limits {kind}")
    return problems


def probes(objects: Objects) -> list[str]:
    return [f"{_name(w, c)}: {probe}" for w, c in _containers(objects)
            for probe in ("readinessProbe", "livenessProbe") if probe not in c]


def images_pinned(objects: Objects) -> list[str]:
    problems = []
    for w, c in _containers(objects):
        image = c["image"]
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else None
        if "@sha256:" not in image and (tag is None or tag == "latest"):
            problems.append(f"{_name(w, c)}: image {image} has no pinned tag")
        if c.get("imagePullPolicy") == "Never":
            problems.append(f"{_name(w, c)}: imagePullPolicy Never")
    return problems


def scratch_volumes_bounded(objects: Objects) -> list[str]:
    """Every emptyDir has a sizeLimit, and the sizes fit in the pod's ephemeral-storage limit
    (else the kubelet evicts the pod before a volume is full)."""
    problems = []
    for w in workloads(objects):
        volumes = [v for v in pod_spec(w).get("volumes", []) if "emptyDir" in v]
        problems += [f"{_name(w)}: emptyDir {v['name']} has no sizeLimit" for v in volumes
                     if "sizeLimit" not in (v["emptyDir"] or {})]
        on_disk = sum(quantity(v["emptyDir"]["sizeLimit"]) for v in volumes
                      if v["emptyDir"].get("medium") != "Memory" and "sizeLimit" in v["emptyDir"])
        limit = sum(quantity(c.get("resources", {}).get("limits", {}).get("ephemeral-storage", "0"))
                    for _, c in _containers([w]))
        if on_disk > limit:
            problems.append(f"{_name(w)}: emptyDirs of {on_disk} bytes over the "
                            f"ephemeral-storage limit of {limit}")
    return problems


def disruption_budgets(objects: Objects) -> list[str]:
    """Every workload is covered by exactly one PodDisruptionBudget."""
    budgets = [o for o in objects if o["kind"] == "PodDisruptionBudget"]
    problems = []
    for w in workloads(objects):
        covering = [b for b in budgets if selects(b["spec"]["selector"], pod_labels(w))]
        if len(covering) != 1:
            problems.append(f"{_name(w)}: {len(covering)} PodDisruptionBudgets, 1 wanted")
    return problems


def network_policies(objects: Objects) -> list[str]:
    """Every pod is selected by a NetworkPolicy that governs both its ingress and egress."""
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    problems = []
    for w in workloads(objects):
        covering = [p for p in policies if selects(p["spec"]["podSelector"], pod_labels(w))]
        types = {t for p in covering for t in p["spec"].get("policyTypes", [])}
        if types != {"Ingress", "Egress"}:
            problems.append(f"{_name(w)}: NetworkPolicies cover {sorted(types)}, not Ingress and Egress")
    return problems


def replicas_spread(objects: Objects) -> list[str]:
    """A workload of several replicas spreads them over nodes. The workers are exempt: each
    is a unit of capacity, and packing them is the scheduler's choice."""
    problems = []
    for w in workloads(objects):
        if w["kind"] != "Deployment" or w["spec"].get("replicas", 1) < 2:
            continue
        keys = {c["topologyKey"] for c in pod_spec(w).get("topologySpreadConstraints", [])
                if selects(c["labelSelector"], pod_labels(w))}
        if "kubernetes.io/hostname" not in keys:
            problems.append(f"{_name(w)}: no topology spread over kubernetes.io/hostname")
    return problems


RULES: dict[str, Rule] = {rule.__name__: rule for rule in (
    runs_as_non_root, drops_all_capabilities, seccomp_runtime_default, read_only_root,
    no_host_access, no_service_account_token, resources_requested_and_limited, probes,
    images_pinned, scratch_volumes_bounded, disruption_budgets, network_policies, replicas_spread,
)}
