"""`blender-http install` and `find-blender` as real subprocesses: the legacy add-on into
Debian's Blender 3.4, the extension into the bpy module (Blender 5), each then found
enabled by a fresh Blender that loads the saved preferences."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.blender import servers
from tests.conftest import missing

pytestmark = [pytest.mark.blender, pytest.mark.timeout(300)]
CHECK = ("import bpy\n{load}"
         "print('CHECK', {module!r} in bpy.context.preferences.addons,"
         " hasattr(bpy.types, 'BLENDER_HTTP_PT_panel'))\n")


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "blender_http", *args], env=env, capture_output=True,
                          text=True, timeout=240)


def _debian_blender() -> str:
    blender = shutil.which("blender")
    if blender is None:
        missing("no `blender` on PATH (apt-get install blender)")
    assert blender is not None
    return blender


def _clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BLENDER_HTTP_", "BLENDER_USER_"))}
    env["BLENDER_HTTP_STATE_DIR"] = str(tmp_path / "state")
    return env


def test_install_the_legacy_addon_into_blender_3(tmp_path: Path) -> None:
    blender = _debian_blender()
    env = {**_clean_env(tmp_path), "BLENDER_USER_SCRIPTS": str(tmp_path / "scripts"),
           "BLENDER_USER_CONFIG": str(tmp_path / "config")}
    done = _cli(env, "install", "--blender", blender)
    assert done.returncode == 0, done.stderr
    assert "add-on (blender_http_addon) into Blender 3." in done.stdout
    assert (tmp_path / "scripts" / "addons" / "blender_http_addon" / "__init__.py").is_file()
    check = subprocess.run([blender, "--background", "--python-expr",
                            CHECK.format(load="", module="blender_http_addon")],
                           env=env, capture_output=True, text=True, timeout=120)
    assert "CHECK True True" in check.stdout, check.stdout + check.stderr


def test_install_the_extension_into_bpy_4_2_plus(tmp_path: Path) -> None:
    reason = servers.availability("module")
    if reason:
        missing(reason)
    env = {**_clean_env(tmp_path), "BLENDER_USER_RESOURCES": str(tmp_path / "resources")}
    done = _cli(env, "install", "--bpy")
    assert done.returncode == 0, done.stderr
    assert "extension (bl_ext.user_default.blender_http) into Blender" in done.stdout
    assert (tmp_path / "resources" / "extensions" / "user_default" / "blender_http").is_dir()
    # The bpy module starts from factory settings: load the saved preferences first.
    script = CHECK.format(load="bpy.ops.wm.read_userpref()\n", module="bl_ext.user_default.blender_http")
    check = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                           timeout=120)
    assert "CHECK True True" in check.stdout, check.stdout + check.stderr


def test_install_into_something_that_is_not_blender_fails(tmp_path: Path) -> None:
    done = _cli(_clean_env(tmp_path), "install", "--blender", "/bin/true")
    assert done.returncode == 1
    assert "did not run the install script" in done.stderr


def test_find_blender_prints_path_and_version(tmp_path: Path) -> None:
    blender = _debian_blender()
    env = {**_clean_env(tmp_path), "BLENDER_PATH": blender}
    done = _cli(env, "find-blender")
    assert done.returncode == 0
    path, version = done.stdout.strip().split("\t")
    assert (path, version.split(".")[0]) == (blender, "3")
    assert '"source":"BLENDER_PATH"' in _cli(env, "find-blender", "--json").stdout


def test_find_blender_without_any_blender_exits_3(tmp_path: Path) -> None:
    env = {**_clean_env(tmp_path), "PATH": str(tmp_path), "HOME": str(tmp_path)}
    code = "import blender_http.local.discovery as d; print('\\n'.join(p for p, _ in d.candidates()))"
    left = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60).stdout.split()
    if left:  # only a Blender in a machine-wide install place survives an empty PATH and HOME
        pytest.skip(f"this machine has a Blender installed at {left[0]}")
    done = _cli(env, "find-blender")
    assert done.returncode == 3 and "no Blender found" in done.stderr


def test_gateway_forwards_its_arguments(tmp_path: Path) -> None:
    done = _cli(_clean_env(tmp_path), "gateway", "--help")
    assert done.returncode == 0, done.stderr
    assert "--backend" in done.stdout and "--spawn" in done.stdout
