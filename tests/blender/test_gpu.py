"""BLENDER_HTTP_CYCLES_DEVICE in every mode. This machine has no GPU, so what is checked for
real is what a worker on one relies on: the server refuses to start, saying why, when no
device of the type is there (a GPU worker never renders on its CPU unnoticed), and the
scenes' device is "GPU" after the start and in every .blend opened later."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.blender import servers
from tests.conftest import missing


def _refused(mode: str, device: str, tmp_path: Path) -> str:
    reason = servers.availability(mode)
    if reason:
        missing(reason)
    env = {**os.environ, "BLENDER_HTTP_PORT": "0", "BLENDER_HTTP_CYCLES_DEVICE": device,
           "BLENDER_HTTP_READY_FILE": str(tmp_path / "ready.json")}
    done = subprocess.run(servers.command(mode, tmp_path / "ready.json"), env=env, capture_output=True,
                          text=True, timeout=servers.START_TIMEOUT, stdin=subprocess.DEVNULL)
    assert done.returncode == 2, (done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    assert not (tmp_path / "ready.json").exists()
    return done.stdout + done.stderr


@pytest.mark.parametrize("mode", servers.MODES)
def test_no_device_of_the_type_stops_the_start_and_says_so(mode: str, tmp_path: Path) -> None:
    said = _refused(mode, "cuda", tmp_path)
    assert "BLENDER_HTTP_CYCLES_DEVICE=CUDA: no CUDA device found (devices: " in said
    assert "(CPU)" in said  # what it did find


SAVED_DEVICE = ("import bpy\ncycles = bpy.context.preferences.addons.get('cycles')\n"
                "print('saved device:', cycles.preferences.compute_device_type if cycles else None)")


def test_a_refused_start_in_the_gui_leaves_the_saved_preferences_alone(tmp_path: Path) -> None:
    # Blender's GUI saves changed preferences when it quits; a first start in a new
    # configuration folder has them changed already, so they are saved on the way out: with
    # the device type the refused server tried, unless it was put back.
    reason = servers.availability("gui")
    if reason:
        missing(reason)
    config = tmp_path / "config"
    env = {**os.environ, "BLENDER_USER_CONFIG": str(config), "BLENDER_HTTP_PORT": "0",
           "BLENDER_HTTP_CYCLES_DEVICE": "CUDA", "BLENDER_HTTP_READY_FILE": str(tmp_path / "ready.json")}
    gui = [arg for arg in servers.command("gui", tmp_path / "ready.json") if arg != "--factory-startup"]
    done = subprocess.run(gui, env=env, capture_output=True, text=True, timeout=servers.START_TIMEOUT,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 2, (done.stdout[-2000:], done.stderr[-2000:])
    assert (config / "userpref.blend").exists(), "the GUI saved no preferences: nothing was checked"
    saved = subprocess.run(["blender", "--background", "--python-expr", SAVED_DEVICE], env=env,
                           capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert "saved device: NONE" in saved.stdout, saved.stdout[-2000:]


def test_a_type_this_platform_lacks_is_named(tmp_path: Path) -> None:
    said = _refused("module", "METAL", tmp_path)
    assert "BLENDER_HTTP_CYCLES_DEVICE=METAL: this Blender's Cycles has no METAL devices" in said


def test_a_type_that_is_none_of_cycles_is_a_usage_error(tmp_path: Path) -> None:
    said = _refused("module", "TPU", tmp_path)
    assert "cycles_device 'TPU' is not one of CUDA, OPTIX, HIP, ONEAPI, METAL" in said


KEEP_ON_GPU = """
import os
from blender_http_addon.scene import gpu
path = os.path.join(WORKDIR, 'saved-on-cpu.blend')
C.scene.cycles.device = 'CPU'
bpy.ops.wm.save_as_mainfile(filepath=path, copy=True)
gpu.keep_scenes_on_gpu()
gpu.keep_scenes_on_gpu()  # twice: one handler
now = C.scene.cycles.device
bpy.ops.wm.open_mainfile(filepath=path)
opened = [s.cycles.device for s in D.scenes]
if C.scene.camera is None:
    C.scene.camera = D.objects.new('GpuTestCamera', D.cameras.new('GpuTestCamera'))
handlers = [h for h in bpy.app.handlers.load_post if h.__name__ == '_scenes_on_gpu']
C.scene.render.engine = 'CYCLES'
C.scene.cycles.samples = 1
C.scene.cycles.use_denoising = False  # Debian's Blender has no denoiser
C.scene.render.resolution_x = C.scene.render.resolution_y = 16
bpy.ops.render.render()
rendered = D.images['Render Result'].size[:] if 'Render Result' in D.images else None
for h in handlers:
    bpy.app.handlers.load_post.remove(h)
bpy.ops.wm.read_homefile(use_empty=False)
[now, opened, len(handlers), rendered is not None]
"""


def test_scenes_stay_on_the_gpu_in_every_file_opened(client: object, server: servers.Running) -> None:
    with server.client() as http:
        answer = http.post("/exec", json={"code": KEEP_ON_GPU}, timeout=120.0)
    assert answer.status_code == 200, answer.text
    now, opened, handlers, rendered = answer.json()["result"]
    # Saved with the CPU, opened on the GPU; and Cycles still renders (here on the CPU, the
    # GPU being none).
    assert (now, set(opened), handlers, rendered) == ("GPU", {"GPU"}, 1, True)
