"""A child server's temporary folder of its own (processes.private_temp): Python's tempfile
in the child writes there, and each call starts it empty (a restarted worker does not
inherit the dead one's files)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from blender_http.local import processes

WRITE = "import tempfile; folder = tempfile.mkdtemp(prefix='blender-http-'); print(folder)"


def test_a_child_writes_its_temporary_files_in_its_own_folder(tmp_path: Path) -> None:
    own = tmp_path / "worker.tmp"
    env = {**os.environ, **processes.private_temp(own)}
    made = subprocess.run([sys.executable, "-c", WRITE], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()
    assert Path(made).parent == own and Path(made).is_dir()
    assert sorted(env[name] for name in ("TMPDIR", "TEMP", "TMP")) == [str(own)] * 3


def test_each_start_gets_it_empty(tmp_path: Path) -> None:
    own = tmp_path / "worker.tmp"
    processes.private_temp(own)
    (own / "render.png").write_bytes(b"png")
    (own / "blender-http-x").mkdir()
    processes.private_temp(own)
    assert own.is_dir() and list(own.iterdir()) == []
    if sys.platform != "win32":
        assert own.stat().st_mode & 0o777 == 0o700  # other local users cannot look in
