"""The run's guard (tests/conftest.py): a process a test starts and never stops fails the
run that started it, and is killed."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


def test_a_process_a_test_leaves_running_fails_the_run_and_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    hooks = "from tests.conftest import pytest_configure, pytest_sessionfinish\n"
    (tmp_path / "conftest.py").write_text(hooks)
    (tmp_path / "test_leak.py").write_text(textwrap.dedent(f"""
        import subprocess
        from pathlib import Path

        def test_leaves_a_process() -> None:
            proc = subprocess.Popen(["sleep", "300"], start_new_session=True)
            Path({str(pid_file)!r}).write_text(str(proc.pid))
    """))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 passed" in done.stdout and "outlived the run" in done.stdout, done.stdout
    pid = int(pid_file.read_text())
    assert f"{pid} sleep 300" in done.stdout, done.stdout
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
