"""The add-on installed the way Blender installs add-ons: a legacy folder in Blender 3.4
and an extension zip in Blender 4.2+ (the bpy module)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from blender_http.local import addon_bundle
from tests.blender import servers
from tests.conftest import missing

PROBE = """
import json, sys
import bpy
prefs = bpy.context.preferences.addons[{module!r}].preferences
print("PROBE" + json.dumps({{
    "version": bpy.app.version_string,
    "panel": hasattr(bpy.types, "BLENDER_HTTP_PT_panel"),
    "start": hasattr(bpy.types, "BLENDER_HTTP_OT_start"),
    "prefs": [prefs.host, prefs.port, prefs.token, prefs.auto_start],
}}))
"""


# Serve one exec from the installed package (its subpackages included) in this Blender.
SERVE = """
import importlib, json, threading, urllib.request
def _serve(package):
    blender = importlib.import_module(package + ".blender")
    config = importlib.import_module(package + ".config")
    blocking = importlib.import_module(package + ".pumps.blocking")
    service = blender.create_service(config.Config(port=0), "background")
    service.start()
    def call():
        try:
            with urllib.request.urlopen(service.url + "/exec", data=b"6 * 7", timeout=30) as answer:
                print("SERVED", json.load(answer)["result"], flush=True)
        finally:
            service.shutdown()
    threading.Thread(target=call).start()
    blocking.run_blocking(service)
_serve({module!r})
"""


def _probe(output: str) -> dict:
    line = next(line for line in output.splitlines() if line.startswith("PROBE"))
    return json.loads(line[len("PROBE"):])


def test_legacy_addon_in_blender_3(tmp_path: Path) -> None:
    if shutil.which("blender") is None:
        missing("no `blender` on PATH (apt-get install blender)")
    addon_bundle.copy_legacy(tmp_path / "scripts" / "addons")
    script = tmp_path / "enable.py"
    script.write_text("import addon_utils\n"
                      "addon_utils.enable('blender_http_addon', default_set=True, handle_error=print)\n"
                      + PROBE.format(module="blender_http_addon")
                      + SERVE.format(module="blender_http_addon")
                      + "addon_utils.disable('blender_http_addon')\n"
                      "print('DISABLED', hasattr(bpy.types, 'BLENDER_HTTP_PT_panel'))\n")
    env = {**os.environ, "BLENDER_USER_SCRIPTS": str(tmp_path / "scripts")}
    done = subprocess.run(["blender", "--background", "--factory-startup", "--python", str(script)],
                          env=env, capture_output=True, text=True, timeout=120)
    probe = _probe(done.stdout)
    assert probe["panel"] and probe["start"]
    assert probe["prefs"] == ["127.0.0.1", 7777, "", False]
    assert "SERVED 42" in done.stdout
    assert "DISABLED False" in done.stdout


def test_extension_in_blender_4_2_plus(tmp_path: Path) -> None:
    reason = servers.availability("module")
    if reason:
        missing(reason)
    archive = addon_bundle.build_extension(tmp_path / "blender_http-0.1.0.zip")
    module = "bl_ext.user_default.blender_http"
    script = textwrap.dedent(f"""
        import bpy, importlib
        bpy.ops.extensions.package_install_files(filepath={str(archive)!r}, repo="user_default",
                                                 enable_on_install=True)
    """) + PROBE.format(module=module) + textwrap.dedent(f"""
        gui = importlib.import_module({module + ".gui"!r})
        gui.preferences().port = 0
        try:  # no window here: the panel's Start must say why it cannot serve
            bpy.ops.blender_http.start()
        except RuntimeError as exc:
            print("REFUSED", "blender-http serve" in str(exc))
        print("STOPPED", gui.current() is None)
    """) + SERVE.format(module=module)
    env = {**os.environ, "BLENDER_USER_RESOURCES": str(tmp_path / "resources")}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    probe = _probe(done.stdout)
    assert probe["version"].startswith(("4.", "5."))
    assert probe["panel"] and probe["start"]
    assert probe["prefs"] == ["127.0.0.1", 7777, "", False]
    assert "REFUSED True" in done.stdout
    assert "STOPPED True" in done.stdout
    assert "SERVED 42" in done.stdout


def test_installed_addon_auto_starts_with_the_gui(tmp_path: Path) -> None:
    reason = servers.availability("gui")
    if reason:
        missing(reason)
    addon_bundle.copy_legacy(tmp_path / "scripts" / "addons")
    cmd = ["xvfb-run", "-a", "-s", "-screen 0 1280x720x24",
           "blender", "--factory-startup", "--addons", addon_bundle.LEGACY_NAME]
    running = servers.start("gui", tmp_path, cmd=cmd, env={
        "BLENDER_USER_SCRIPTS": str(tmp_path / "scripts"), "BLENDER_HTTP_AUTOSTART": "1"})
    try:
        with running.client() as client:
            assert client.get("/health").json()["mode"] == "gui"
            body = client.post("/exec", content=b"import bpy; len(bpy.data.objects)").json()
            assert body["result"] == 3
    finally:
        running.stop()
