"""Temporary folders of the servers this machine starts (blender_http.local.temp): a
parent's own folder, where what a killed parent left goes when the next one starts, and a
child's whole temporary folder."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from blender_http.local import temp

WRITE = "import tempfile; folder = tempfile.mkdtemp(prefix='blender-http-'); print(folder)"


@pytest.fixture
def system_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_a_child_writes_its_temporary_files_in_its_own_folder(tmp_path: Path) -> None:
    own = tmp_path / "worker.tmp"
    env = {**os.environ, **temp.private_temp(own)}
    made = subprocess.run([sys.executable, "-c", WRITE], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()
    assert Path(made).parent == own and Path(made).is_dir()
    assert sorted(env[name] for name in ("TMPDIR", "TEMP", "TMP")) == [str(own)] * 3


def test_each_start_gets_it_empty(tmp_path: Path) -> None:
    own = tmp_path / "worker.tmp"
    temp.private_temp(own)
    (own / "render.png").write_bytes(b"png")
    (own / "blender-http-x").mkdir()
    temp.private_temp(own)
    assert own.is_dir() and list(own.iterdir()) == []
    if sys.platform != "win32":
        assert own.stat().st_mode & 0o777 == 0o700  # other local users cannot look in


def test_the_folders_of_gone_processes_go_and_living_ones_stay(system_temp: Path) -> None:
    parent = system_temp / f"blender-http-gateway-{getpass.getuser()}"
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                           text=True, check=True)
    gone_pid = int(ended.stdout)
    living = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        parent.mkdir(mode=0o700)
        for pid in (gone_pid, living.pid):
            (parent / str(pid)).mkdir()
            (parent / str(pid) / "render.png").write_bytes(b"png")
        (parent / str(os.getpid())).mkdir()
        (parent / str(os.getpid()) / "old").write_text("a folder of a process with our pid, gone")
        own = temp.own_folder("gateway")
        assert own == parent / str(os.getpid()) and list(own.iterdir()) == []
        assert sorted(p.name for p in parent.iterdir()) == sorted([str(living.pid), str(os.getpid())])
        assert (parent / str(living.pid) / "render.png").read_bytes() == b"png"
    finally:
        living.kill()
        living.wait()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes; Windows' temporary folder is the user's")
def test_a_parent_folder_others_may_write_is_refused(system_temp: Path) -> None:
    parent = system_temp / f"blender-http-ray-{getpass.getuser()}"
    parent.mkdir()
    parent.chmod(0o777)  # as another local user could have made it first
    with pytest.raises(OSError, match="not this user's alone"):
        temp.own_folder("ray")
    assert list(parent.iterdir()) == []


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links need privileges on Windows")
def test_a_link_in_place_of_the_parent_folder_is_refused(system_temp: Path, tmp_path_factory:
                                                          pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (system_temp / f"blender-http-mcp-{getpass.getuser()}").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(OSError, match="not a folder"):
        temp.own_folder("mcp")
    assert list(elsewhere.iterdir()) == []
