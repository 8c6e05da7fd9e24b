"""The worker as docker/k8s/worker.yaml runs it: a read-only root file system, writable only
where the manifest mounts an emptyDir, the secret on a read-only mount. Each worker image's
entrypoint runs in a mount namespace of its own (`unshare -m`) made that way, serves,
renders with Cycles into the work folder, and stops with exit 0 on SIGTERM.

It runs as root, not as the pod's uid 10001: this machine's Python lives under /root, which
other users cannot enter. A read-only mount refuses root too (EROFS), and the writable
folders are open to every user (as an emptyDir is to the pod's fsGroup)."""

from __future__ import annotations

import errno
import os
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import missing
from tests.docker import dockerfiles, entrypoints

pytestmark = pytest.mark.blender

WORKER_MANIFEST = dockerfiles.DOCKER / "k8s" / "worker.yaml"


def statefulset() -> dict[str, Any]:
    documents = yaml.safe_load_all(WORKER_MANIFEST.read_text())
    (found,) = [d for d in documents if d and d["kind"] == "StatefulSet"]
    return found


def pod_and_container() -> tuple[dict[str, Any], dict[str, Any]]:
    pod = statefulset()["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return pod, container


def mounts() -> tuple[list[str], str]:
    """The emptyDir mount paths (writable) and the secret's mount path (read-only)."""
    pod, container = pod_and_container()
    volumes = {v["name"]: v for v in pod["volumes"]}
    scratch = [m["mountPath"] for m in container["volumeMounts"] if "emptyDir" in volumes[m["name"]]]
    (secret,) = [m["mountPath"] for m in container["volumeMounts"] if "secret" in volumes[m["name"]]]
    return scratch, secret


def namespace_script(scratch: list[str], secret: str) -> str:
    """sh that makes the container's file system view in this mount namespace, then runs
    "$@". Paths the host lacks are made on a tmpfs laid over their top folder
    (read-only again before the worker starts), so nothing is left on the host."""
    tops = sorted({"/" + p.strip("/").split("/")[0] for p in [*scratch, secret]} - set(scratch))
    lines = ["set -eu", "mount --make-rprivate /"]
    lines += [f"mount -t tmpfs -o mode=0755 scaffold {shlex.quote(top)}" for top in tops]
    lines += [f"mkdir -p {shlex.quote(path)}" for path in [*scratch, secret]]
    lines.append(f'printf "%s\\n" "$WORKER_TOKEN" > {shlex.quote(secret)}/token')
    # This checkout (its scripts and its virtualenv) may lie under a folder an emptyDir covers,
    # /tmp on a CI machine: it is held on a scaffold meanwhile and bound back in place.
    root = str(dockerfiles.ROOT)
    covered = any(root == path or root.startswith(path.rstrip("/") + "/") for path in scratch)
    holder = shlex.quote(f"{tops[0]}/.checkout")
    if covered:
        lines += [f"mkdir -p {holder}", f"mount --bind {shlex.quote(root)} {holder}"]
    # An emptyDir is writable by the pod's fsGroup; a sticky tmpfs stands in for it.
    lines += [f"mount -t tmpfs -o mode=1777 emptydir {shlex.quote(path)}" for path in scratch]
    if covered:
        lines += [f"mkdir -p {shlex.quote(root)}", f"mount --bind {holder} {shlex.quote(root)}"]
    lines += [f"mount -o remount,ro {shlex.quote(top)}" for top in tops]
    lines.append("mount -o remount,bind,ro /")
    lines.append('exec "$@"')
    return "\n".join(lines)


# Writes into the work folder (a render), /tmp and HOME, and tries the root file system.
PROBE = """
import os, tempfile, bpy
scene = bpy.context.scene
scene.render.engine = 'CYCLES'
scene.cycles.samples = 1
scene.cycles.use_denoising = False  # Debian's Blender is built without OpenImageDenoise
scene.render.resolution_x = scene.render.resolution_y = 32
scene.render.filepath = os.path.join(WORKDIR, 'frame.png')
bpy.ops.render.render(write_still=True)
def refused(path):
    try:
        open(path, 'w').close()
    except OSError as exc:
        return exc.errno
    return None
with tempfile.NamedTemporaryFile() as f:
    f.write(b'x')
home = os.path.join(os.environ['HOME'], 'note')
open(home, 'w').close()
{'render_bytes': os.path.getsize(scene.render.filepath),
 'root': refused('/opt/blender-http-probe'), 'home': os.path.exists(home)}
"""


@pytest.fixture(params=entrypoints.worker_images(), ids=lambda path: path.parent.name)
def worker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[entrypoints.Started]:
    dockerfile: Path = request.param
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        missing("a read-only root in a mount namespace needs root and unshare (util-linux)")
    _, container = pod_and_container()
    scratch, secret = mounts()
    port = entrypoints.free_port()
    manifest_env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    env = entrypoints.environment(dockerfile, **manifest_env, BLENDER_HTTP_PORT=str(port),
                                  HOME="/home/blender", WORKER_TOKEN=entrypoints.TOKEN)
    entrypoints.require_blender_for(env)
    script = namespace_script(scratch, secret)
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            ["unshare", "--mount", "sh", "-c", script, "sh", str(entrypoints.script_of(dockerfile))],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
            start_new_session=True)
    started = entrypoints.Started(proc=proc, url=f"http://127.0.0.1:{port}", log=log)
    try:
        started.wait_healthy()
        yield started
    finally:
        started.kill()


def test_the_manifest_mounts_home_tmp_and_the_work_folder() -> None:
    _, container = pod_and_container()
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    env = dockerfiles.image_env(dockerfiles.DOCKER / "worker" / "Dockerfile")
    scratch, _ = mounts()
    assert sorted(scratch) == sorted([env["BLENDER_HTTP_WORKDIR"], "/tmp", "/home/blender"])


def test_the_worker_renders_on_a_read_only_root(worker: entrypoints.Started) -> None:
    headers = {"Authorization": f"Bearer {entrypoints.TOKEN}"}
    with httpx.Client(base_url=worker.url, headers=headers, timeout=120.0, trust_env=False) as http:
        answer = http.post("/exec", content=PROBE)
    assert answer.status_code == 200, answer.text
    result = answer.json()["result"]
    assert result["render_bytes"] > 0
    assert result["root"] == errno.EROFS
    assert result["home"] is True
    assert worker.terminate() == 0, worker.log_text()
