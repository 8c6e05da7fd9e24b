"""Start-up to healthy per mode, against Blender's own start-up."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .targets import XVFB, blender_command, free_port, stop, wait_ready

EXPLAINED = """Each mode's baseline is the same program with nothing of ours, timed until its
first line of Python runs (a marker file appears): `import bpy` for module mode,
`blender -b --python-expr` for background, and for the GUI a desktop Blender's first
timer (its event loop is running by then). Background mode is measured through the CLI,
`blender-http start --background`, as users start it; it returns once /health answers."""


def _baselines(mark: str) -> dict[str, list[str]]:
    touch = f"open({mark!r}, 'w').close()"
    return {
        "module": [sys.executable, "-c", f"import bpy; {touch}"],
        "background": ["blender", "--background", "--factory-startup", "--python-expr", touch],
        "gui": [*XVFB, "blender", "--factory-startup", "--python-expr",
                "import bpy\n"
                f"def first():\n    {touch}\n    bpy.ops.wm.quit_blender()\n"
                "bpy.app.timers.register(first, first_interval=0)"],
    }


def baseline_s(mode: str) -> float:
    """Seconds from launch until the program runs its first line of Python."""
    with tempfile.TemporaryDirectory(prefix=f"bench-own-{mode}-") as folder:
        mark = Path(folder) / "ran"
        start = time.perf_counter()
        proc = subprocess.Popen(_baselines(str(mark))[mode], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            while not mark.exists():
                if proc.poll() is not None and not mark.exists():
                    raise RuntimeError(f"{mode} baseline exited with {proc.returncode} before it ran")
                time.sleep(0.002)
            elapsed = time.perf_counter() - start
        finally:
            stop(proc, None)
        return elapsed


def healthy_s(mode: str) -> float:
    """Seconds from launch until /health answers 200."""
    if mode == "background":
        return _cli_start_s()
    with tempfile.TemporaryDirectory(prefix=f"bench-start-{mode}-") as folder:
        ready = Path(folder) / "ready.json"
        env = {**os.environ, "BLENDER_HTTP_PORT": "0", "BLENDER_HTTP_READY_FILE": str(ready)}
        start = time.perf_counter()
        proc = subprocess.Popen(blender_command(mode), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        url = None
        try:
            url = wait_ready(proc, ready)
            elapsed = time.perf_counter() - start
        finally:
            stop(proc, url)
        return elapsed


def _cli_start_s() -> float:
    with tempfile.TemporaryDirectory(prefix="bench-start-cli-") as folder:
        env = {**os.environ, "BLENDER_HTTP_STATE_DIR": folder}
        port = str(free_port())
        cli = [sys.executable, "-m", "blender_http"]
        start = time.perf_counter()
        subprocess.run([*cli, "start", "--background", "--factory-startup", "--port", port], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=120)
        elapsed = time.perf_counter() - start
        subprocess.run([*cli, "stop", "--port", port], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True, timeout=60)
        return elapsed


def measure(modes: list[str], repeats: int) -> dict[str, dict[str, list[float]]]:
    """Per mode: "healthy" and "baseline" seconds, interleaved."""
    out: dict[str, dict[str, list[float]]] = {mode: {"healthy": [], "baseline": []} for mode in modes}
    for _ in range(repeats):
        for mode in modes:
            out[mode]["baseline"].append(baseline_s(mode))
            out[mode]["healthy"].append(healthy_s(mode))
    return out
