"""Every module of the installed add-on imports under Windows CPython, except those that
import Blender's own modules (bpy, ...) at their top; on a Python without NumPy (3.13 under
wine, see wine.py) also those that import NumPy, which Blender always ships."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.windows import wine

# The first test to run may set up Wine, the Pythons and their packages (minutes, on a fresh
# machine) before its own work.
pytestmark = pytest.mark.timeout(1200)

INSIDE = Path(__file__).resolve().parent / "inside"
# Modules only Blender has.
BLENDER_MODULES = {"bpy", "bmesh", "mathutils", "gpu", "gpu_extras", "bpy_extras", "bl_math", "idprop",
                   "addon_utils", "bl_ui", "aud", "imbuf", "freestyle"}


def test_every_module_imports(wine_session: wine.Session, version: str) -> None:
    done = wine_session.run(version, [wine.windows_path(INSIDE / "import_all.py"), "blender_http_addon"])
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["platform"] == "win32" and report["version"].startswith(version)
    allowed = BLENDER_MODULES | (set() if wine.NUMPY[version] else {"numpy"})
    modules = report["modules"]
    broken = {name: failure for name, failure in modules.items()
              if failure is not None
              and not (failure["type"] == "ModuleNotFoundError"
                       and str(failure["missing"]).split(".")[0] in allowed)}
    assert not broken, json.dumps(broken, indent=1)
    imported = sorted(name for name, failure in modules.items() if failure is None)
    # The HTTP server, jobs, files, pumps and the service are among them.
    for name in ("blender_http_addon.http.server", "blender_http_addon.jobs.execution",
                 "blender_http_addon.files.folder", "blender_http_addon.pumps.blocking",
                 "blender_http_addon.service", "blender_http_addon.api.app", "blender_http_addon.mcp.calls"):
        assert name in imported, (name, modules.get(name))
    assert len(imported) >= 50, imported
