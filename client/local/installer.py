"""Installing the add-on into a Blender: the legacy add-on in Blender < 4.2, the extension in
4.2+. Blender itself installs and enables it (in the background), so the result is exactly
what its own Preferences would do, and the enabled add-on is checked before we say so."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from . import addon_bundle, discovery

MARKER = "BLENDER_HTTP_INSTALLED "
PANEL = "BLENDER_HTTP_PT_panel"

# Runs inside the target Blender (3.4+ and the bpy module): standard library and bpy only.
INSTALL_SCRIPT = f"""
import json, os, sys, traceback
import bpy
spec = json.loads(os.environ["BLENDER_HTTP_INSTALL"])
out = {{"blender": bpy.app.version_string}}
try:
    if bpy.app.version >= (4, 2, 0):
        out["form"], out["module"] = "extension", "bl_ext.user_default.blender_http"
        bpy.ops.extensions.package_install_files(filepath=spec["extension"], repo="user_default",
                                                 enable_on_install=True, overwrite=True)
    else:
        out["form"], out["module"] = "add-on", "blender_http_addon"
        bpy.ops.preferences.addon_install(filepath=spec["legacy"], overwrite=True)
        bpy.ops.preferences.addon_enable(module=out["module"])
    out["enabled"] = out["module"] in bpy.context.preferences.addons
    out["registered"] = hasattr(bpy.types, {PANEL!r})
    module = sys.modules.get(out["module"])
    out["path"] = os.path.dirname(module.__file__) if module and module.__file__ else None
    if spec["save"] and out["enabled"]:
        bpy.ops.wm.save_userpref()
except Exception:
    out["error"] = traceback.format_exc()
print({MARKER!r} + json.dumps(out), flush=True)
"""


class InstallError(Exception):
    """The add-on could not be installed or did not come up enabled."""


@dataclasses.dataclass(frozen=True)
class Installed:
    blender: str
    version: str
    form: str  # "add-on" (Blender < 4.2) or "extension"
    module: str
    path: str | None
    saved: bool


def target_command(target: str) -> list[str]:
    """How to run a script in target: a Blender executable, or a Python that has bpy."""
    if discovery.blender_version(target) is not None:
        return [target, "--background", "--python-exit-code", "1", "--python-expr"]
    return [target, "-c"]


def install(target: str, *, save: bool = True, timeout: float = 300.0) -> Installed:
    """Install and enable the add-on in target and check it registered; save=True keeps it
    enabled in the user preferences."""
    if not discovery.is_executable(target):
        raise InstallError(f"{target} is not an executable file")
    with tempfile.TemporaryDirectory(prefix="blender-http-install-") as folder:
        spec = {
            "legacy": str(addon_bundle.build_legacy_zip(Path(folder) / "blender_http_addon.zip")),
            "extension": str(addon_bundle.build_extension(Path(folder) / "blender_http.zip")),
            "save": save,
        }
        env = {**os.environ, "BLENDER_HTTP_INSTALL": json.dumps(spec)}
        try:
            done = subprocess.run([*target_command(target), INSTALL_SCRIPT], env=env, text=True,
                                  capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL,
                                  errors="replace")
        except (OSError, subprocess.SubprocessError) as exc:
            raise InstallError(f"could not run {target}: {exc}") from exc
    report = _report(done.stdout)
    if report is None:
        raise InstallError(f"{target} did not run the install script (exit {done.returncode}):\n"
                           + _tail(done.stdout + done.stderr))
    if report.get("error"):
        raise InstallError(f"Blender {report.get('blender')} failed to install the add-on:\n"
                           + str(report["error"]))
    if not (report.get("enabled") and report.get("registered")):
        raise InstallError(f"the add-on was installed into Blender {report['blender']} but did not "
                           f"come up enabled:\n{_tail(done.stdout + done.stderr)}")
    return Installed(blender=target, version=str(report["blender"]), form=str(report["form"]),
                     module=str(report["module"]), path=report.get("path"), saved=save)


def _report(output: str) -> dict[str, Any] | None:
    for line in output.splitlines():
        if line.startswith(MARKER):
            found: dict[str, Any] = json.loads(line[len(MARKER):])
            return found
    return None


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.splitlines()[-lines:])
