"""The `blender-http` client commands run as real subprocesses against a real server:
their output and their exit codes (0 ok, 1 the code failed, 2 usage, 3 unreachable)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest

from blender_http import Blender
from blender_http.cli import exit_codes, terminal
from blender_http.local import state
from tests.blender import servers
from tests.client.conftest import TOKEN

pytestmark = pytest.mark.timeout(120)


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """No server configured and an empty state folder: each test says what it talks to."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLENDER_HTTP_")}
    env["BLENDER_HTTP_STATE_DIR"] = str(tmp_path / "state")
    return env


@pytest.fixture
def env(cli_env: dict[str, str], server: servers.Running) -> dict[str, str]:
    return {**cli_env, "BLENDER_HTTP_URL": server.url, "BLENDER_HTTP_TOKEN": TOKEN}


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "blender_http", *args], env=env, input=stdin or "",
                          capture_output=True, text=True, timeout=90)


def test_exec_prints_output_then_the_result(env: dict[str, str]) -> None:
    done = run(env, "exec", "-c", "print('hello')\nlen(D.objects)")
    assert (done.returncode, done.stdout, done.stderr) == (0, "hello\n3\n", "")  # no spinner when piped
    done = run(env, "exec", "-c", "bpy.app.version_string")
    assert done.stdout.strip().startswith(("4.", "5."))  # a string result prints bare


def test_exec_json_prints_the_envelope(env: dict[str, str]) -> None:
    done = run(env, "exec", "--json", "--args", '{"n": 4}', "-c", "[args['n']] * 2")
    envelope = json.loads(done.stdout)
    assert done.returncode == 0
    assert envelope["ok"] is True and envelope["result"] == [4, 4]


def test_exec_of_failing_code_exits_1_with_the_traceback(env: dict[str, str]) -> None:
    done = run(env, "exec", "-c", "print('first')\n1 / 0")
    assert done.returncode == 1
    assert done.stdout == "first\n"
    assert "ZeroDivisionError" in done.stderr and '"<exec>", line 2' in done.stderr
    done = run(env, "exec", "--json", "-c", "1 / 0")
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"]["type"] == "ZeroDivisionError"


def test_exec_reads_a_file_or_stdin(env: dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text("x = 20\nx + 1\n")
    assert run(env, "exec", str(script)).stdout == "21\n"
    assert run(env, "exec", "-", stdin="6 * 7\n").stdout == "42\n"


def test_exec_session_and_timeout(env: dict[str, str]) -> None:
    assert run(env, "exec", "--session", "cli", "-c", "kept = 'yes'").returncode == 0
    assert run(env, "exec", "--session", "cli", "-c", "kept").stdout == "yes\n"
    done = run(env, "exec", "--timeout", "0.3", "-c", "while True:\n    pass")
    assert done.returncode == 1 and "Timeout" in done.stderr


@pytest.mark.parametrize("args", [
    ("exec",), ("exec", "-c", "1", "file.py"), ("exec", "--args", "[1]", "-c", "1"),
    ("exec", "--args", "{nope", "-c", "1"), ("exec", "/no/such/file.py"), ("jobs", "list", "--bogus"),
    ("exec", "-c", ""), ("exec", "-c", " \n"), ("jobs", "submit", "-c", ""),
])
def test_usage_errors_exit_2(cli_env: dict[str, str], args: tuple[str, ...]) -> None:
    done = run(cli_env, *args)
    assert done.returncode == 2, done.stderr
    assert "Usage:" in done.stderr or "Error" in done.stderr


def test_each_exit_code_is_the_one_cli_exit_codes_names() -> None:
    assert click.UsageError.exit_code == click.BadParameter.exit_code == exit_codes.EXIT_USAGE
    assert terminal.Failed.exit_code == exit_codes.EXIT_FAILED
    assert terminal.Unreachable.exit_code == exit_codes.EXIT_UNREACHABLE


@pytest.mark.parametrize("args", [("status",), ("exec", "-c", "1"), ("jobs", "list"),
                                  ("exec", "--json", "-c", "1")])
def test_an_unreachable_server_exits_3(cli_env: dict[str, str], args: tuple[str, ...]) -> None:
    done = run({**cli_env, "BLENDER_HTTP_URL": _closed_port_url()}, *args)
    assert done.returncode == 3, done.stderr
    assert "cannot reach" in done.stderr
    assert "blender-http serve" in done.stderr and "blender-http start --background" in done.stderr
    if "--json" in args:
        assert json.loads(done.stdout)["error"]["type"] == "ConnectError"


def test_a_wrong_token_exits_1(env: dict[str, str]) -> None:
    done = run({**env, "BLENDER_HTTP_TOKEN": "wrong"}, "exec", "-c", "1")
    assert done.returncode == 1 and "401" in done.stderr
    assert "--token" in done.stderr and "BLENDER_HTTP_TOKEN" in done.stderr


@pytest.mark.parametrize("args", [(), ("-h",), ("--help",)])
def test_help_at_the_top_level(cli_env: dict[str, str], args: tuple[str, ...]) -> None:
    done = run(cli_env, *args)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage:") and "exec" in done.stdout


def test_status(env: dict[str, str], server: servers.Running) -> None:
    done = run(env, "status")
    lines = dict(line.split("\t", 1) for line in done.stdout.splitlines())
    assert done.returncode == 0
    assert (lines["url"], lines["status"], lines["mode"]) == (server.url, "ok", "module")
    assert json.loads(run(env, "status", "--json").stdout)["mode"] == "module"


def test_url_and_token_come_from_the_recorded_server(cli_env: dict[str, str],
                                                     server: servers.Running) -> None:
    os.environ["BLENDER_HTTP_STATE_DIR"], saved = cli_env["BLENDER_HTTP_STATE_DIR"], os.environ.get(
        "BLENDER_HTTP_STATE_DIR")
    try:
        port = int(server.url.rsplit(":", 1)[1])
        state.save(port, {"pid": server.proc.pid, "port": port, "url": server.url, "token": TOKEN})
    finally:
        if saved is None:
            del os.environ["BLENDER_HTTP_STATE_DIR"]
        else:
            os.environ["BLENDER_HTTP_STATE_DIR"] = saved
    done = run(cli_env, "exec", "-c", "'recorded'")
    assert (done.returncode, done.stdout) == (0, "recorded\n")
    # An explicit --url wins over the record.
    assert run(cli_env, "status", "--url", _closed_port_url()).returncode == 3


def test_jobs_submit_wait_status_list_logs(env: dict[str, str]) -> None:
    job_id = run(env, "jobs", "submit", "-c", "print('working')\n'done'").stdout.strip()
    assert job_id
    done = run(env, "jobs", "wait", job_id)
    assert (done.returncode, done.stdout) == (0, "working\ndone\n")
    assert run(env, "jobs", "status", job_id).stdout == "succeeded\n"
    assert json.loads(run(env, "jobs", "status", "--json", job_id).stdout)["envelope"]["result"] == "done"
    listed = run(env, "jobs", "list", "--limit", "20").stdout.splitlines()
    assert any(line.split("\t")[:2] == [job_id, "succeeded"] for line in listed)
    assert run(env, "jobs", "logs", job_id).stdout == "working\n"


def test_jobs_logs_follow_streams_until_the_job_ends(env: dict[str, str]) -> None:
    code = "import time, sys\nfor i in range(3):\n    print('tick', i)\n    time.sleep(0.05)\n" \
           "print('oops', file=sys.stderr)\n1 / 0"
    job_id = run(env, "jobs", "submit", "-c", code).stdout.strip()
    done = run(env, "jobs", "logs", "-f", job_id)
    assert done.stdout == "tick 0\ntick 1\ntick 2\n"
    assert done.returncode == 1
    assert "oops" in done.stderr and "ZeroDivisionError" in done.stderr


def test_jobs_cancel(env: dict[str, str]) -> None:
    job_id = run(env, "jobs", "submit", "-c", "while True:\n    pass").stdout.strip()
    done = run(env, "jobs", "cancel", job_id)
    assert done.returncode == 0 and done.stdout.strip() in ("cancelled", "running")
    assert run(env, "jobs", "wait", job_id).returncode == 1
    assert run(env, "jobs", "status", job_id).stdout == "cancelled\n"
    again = run(env, "jobs", "cancel", job_id)
    assert again.returncode == 1 and "already finished" in again.stderr


def test_jobs_wait_timeout_leaves_a_running_job(env: dict[str, str]) -> None:
    job_id = run(env, "jobs", "submit", "-c", "import time\ntime.sleep(3)").stdout.strip()
    done = run(env, "jobs", "wait", "--timeout", "0", job_id)
    assert done.returncode == 1 and "still" in done.stderr
    assert run(env, "jobs", "wait", job_id).returncode == 0


def test_unknown_job_exits_1(env: dict[str, str]) -> None:
    done = run(env, "jobs", "status", "0000000000000000")
    assert done.returncode == 1 and "404" in done.stderr


def _interrupt_exec(env: dict[str, str], blender: Blender, code: str) -> tuple[int, str, str]:
    """Run exec, send SIGINT once the job runs, and return (exit code, stdout, stderr)."""
    proc = subprocess.Popen([sys.executable, "-m", "blender_http", "exec", "-c", code],
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        while not blender.health()["busy"]:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.01)
        time.sleep(0.2)  # past the print: the output so far is what the test looks for
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, stdout, stderr


def test_ctrl_c_during_exec_cancels_the_code_and_shows_its_output(env: dict[str, str],
                                                                  blender: Blender) -> None:
    code, stdout, stderr = _interrupt_exec(env, blender, "print('so far')\nwhile True:\n    pass")
    assert (code, stdout) == (130, "so far\n"), stderr
    assert "cancelled job" in stderr and "Aborted" not in stderr
    assert blender.jobs(limit=1)[0].status == "cancelled"
    assert blender.exec("1 + 1").result == 2


def test_ctrl_c_during_a_blocking_call_cancels_it(env: dict[str, str], blender: Blender) -> None:
    # Module mode: a blocking call (time.sleep, a socket read) is cut short.
    code, stdout, stderr = _interrupt_exec(env, blender, "import time\nprint('before')\ntime.sleep(30)")
    assert (code, stdout) == (130, "before\n"), stderr
    assert "cancelled job" in stderr
    assert blender.jobs(limit=1)[0].status == "cancelled"


def test_ctrl_c_during_a_c_call_says_it_cannot_interrupt_it(env: dict[str, str],
                                                            blender: Blender) -> None:
    # One C call that never looks at signals (pbkdf2: seconds in C, the GIL released, so the
    # server still answers) ends first; the cancel lands on the line after it.
    c_call = "import hashlib\nprint('before')\nhashlib.pbkdf2_hmac('sha256', b'x', b'y', 12_000_000)\n"
    code, stdout, stderr = _interrupt_exec(env, blender, c_call + "print('after')")
    assert (code, stdout) == (130, "before\n"), stderr
    assert "cannot interrupt" in stderr
    assert blender.exec("1 + 1").result == 2


def test_render_writes_the_png_and_leaves_no_copy(env: dict[str, str], blender: Blender,
                                                  tmp_path: Path) -> None:
    out = tmp_path / "shot.png"
    done = run(env, "render", "-o", str(out), "--engine", "BLENDER_WORKBENCH", "--width", "64",
               "--height", "36")
    assert (done.returncode, done.stdout) == (0, f"{out}\n"), done.stderr
    assert out.read_bytes().startswith(b"\x89PNG") and "64x36" in done.stderr
    assert not [f for f in blender.files() if f["path"].startswith("renders/")]


def test_a_terminal_shows_what_a_long_job_is_doing(env: dict[str, str]) -> None:
    """On a terminal the spinner shows the job's progress: here the last line it printed."""
    import pty

    leader, follower = pty.openpty()
    code = "import time\nfor i in range(3):\n    print(f'step {i}', flush=True)\n    time.sleep(0.6)\n'ok'"
    proc = subprocess.Popen([sys.executable, "-m", "blender_http", "exec", "-c", code], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the process closed its end
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    stdout, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and stdout == b"step 0\nstep 1\nstep 2\nok\n"
    assert b"running in Blender: step 1" in seen, seen
