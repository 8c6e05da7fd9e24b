"""Every rendering of docker/k8s (the base, and overlays adding each component) passes an
operator's policy check, rule by rule (tests/docker/k8s_policy.py), and is valid against
the Kubernetes schemas; each rule fails on the mistake it is there to catch."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.docker import k8s_policy, k8s_render
from tests.docker.k8s_render import OVERLAYS, one, pod_spec
from tests.docker.test_k8s import KUBERNETES_VERSIONS

# Custom resources: the Kubernetes schemas do not know them (test_k8s_components.py
# checks what they must say).
CUSTOM_KINDS = {"ScaledObject", "ServiceMonitor"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    return k8s_render.render_all(tmp_path_factory.mktemp("k8s"))


def test_every_component_is_rendered_in_an_overlay() -> None:
    used = {part for parts in OVERLAYS.values() for part in parts}
    assert sorted(used) == k8s_render.components()


@pytest.mark.parametrize("rule", sorted(k8s_policy.RULES))
@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_policy(rendered: dict[str, list[dict[str, Any]]], overlay: str, rule: str) -> None:
    assert k8s_policy.RULES[rule](rendered[overlay]) == []


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_every_rendered_object_is_valid(rendered: dict[str, list[dict[str, Any]]], overlay: str,
                                        version: str) -> None:
    from kubernetes_validate import utils

    if version == "latest":
        version = utils.latest_version()
    for resource in rendered[overlay]:
        if resource["kind"] not in CUSTOM_KINDS:
            utils.validate(resource, version, strict=True)


def worker_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    container: dict[str, Any] = pod_spec(one(objects, "StatefulSet", "worker"))["containers"][0]
    return container


def worker_pod(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return pod_spec(one(objects, "StatefulSet", "worker"))


def gateway_pod(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return pod_spec(one(objects, "Deployment", "gateway"))


def drop_kind(kind: str, component: str) -> Callable[[list[dict[str, Any]]], None]:
    def mutate(objects: list[dict[str, Any]]) -> None:
        objects.remove(one(objects, kind, component))
    return mutate


# One mistake per rule, made in a copy of the base rendering.
MISTAKES: dict[str, Callable[[list[dict[str, Any]]], None]] = {
    "runs_as_non_root": lambda o: worker_pod(o)["securityContext"].pop("runAsNonRoot"),
    "drops_all_capabilities": lambda o: worker_container(o)["securityContext"].update(
        capabilities={"add": ["NET_ADMIN"], "drop": ["ALL"]}),
    "seccomp_runtime_default": lambda o: gateway_pod(o)["securityContext"].update(
        seccompProfile={"type": "Unconfined"}),
    "read_only_root": lambda o: worker_container(o)["securityContext"].update(
        readOnlyRootFilesystem=False),
    "no_host_access": lambda o: worker_pod(o).update(hostNetwork=True),
    "no_service_account_token": lambda o: worker_pod(o).pop("automountServiceAccountToken"),
    "resources_requested_and_limited": lambda o: worker_container(o)["resources"]["requests"].pop(
        "ephemeral-storage"),
    "probes": lambda o: gateway_pod(o)["containers"][0].pop("livenessProbe"),
    "images_pinned": lambda o: worker_container(o).update(image="blender-http-worker:latest"),
    "scratch_volumes_bounded": lambda o: worker_pod(o)["volumes"][-1]["emptyDir"].update(
        sizeLimit="100Gi"),
    "disruption_budgets": drop_kind("PodDisruptionBudget", "worker"),
    "network_policies": drop_kind("NetworkPolicy", "gateway"),
    "replicas_spread": lambda o: gateway_pod(o).pop("topologySpreadConstraints"),
}


def test_every_rule_has_a_mistake_to_catch() -> None:
    assert sorted(MISTAKES) == sorted(k8s_policy.RULES)


@pytest.mark.parametrize("rule", sorted(k8s_policy.RULES))
def test_each_rule_catches_its_mistake(rendered: dict[str, list[dict[str, Any]]], rule: str) -> None:
    broken = copy.deepcopy(rendered["base"])
    MISTAKES[rule](broken)
    assert k8s_policy.RULES[rule](broken) != []

