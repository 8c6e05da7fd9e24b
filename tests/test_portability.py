"""No module of the three packages uses a POSIX-only or Linux-only facility without a
guard: every such use sits under a platform test (`if sys.platform ...`, `os.name`,
`hasattr`), in a conditional expression on one, or in a `try` that handles its absence.
The fallbacks themselves run for real under Windows CPython (tests/windows).

Read from the source with ast, so it runs on any platform and guards macOS too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("addon_http", "client", "gateway")

# Modules that exist on POSIX only.
POSIX_MODULES = {"fcntl", "termios", "tty", "pty", "pwd", "grp", "resource", "posix", "syslog", "crypt"}
# Attributes of a module that exist on POSIX only (or on Linux only).
POSIX_ATTRIBUTES = {
    "os": {"fork", "forkpty", "setsid", "setpgrp", "setpgid", "getpgid", "killpg", "getuid", "geteuid",
           "getgid", "getegid", "setuid", "setgid", "fchmod", "fchown", "chown", "lchown", "mkfifo",
           "statvfs", "uname", "sched_getaffinity", "sched_setaffinity", "O_NOFOLLOW", "O_DIRECTORY",
           "O_CLOEXEC", "O_NONBLOCK", "WNOHANG", "wait3", "wait4", "getloadavg", "sync", "pipe2",
           "posix_spawn", "memfd_create", "pidfd_open", "nice", "getpriority", "setpriority"},
    "signal": {"SIGKILL", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGSTOP", "SIGCONT", "SIGALRM",
               "SIGCHLD", "SIGPIPE", "SIGTSTP", "alarm", "setitimer", "pthread_kill", "pthread_sigmask",
               "sigwait", "siginterrupt", "pidfd_send_signal"},
    "select": {"poll", "epoll", "kqueue", "devpoll"},
    "socket": {"AF_UNIX", "SO_REUSEPORT", "MSG_NOSIGNAL", "TCP_KEEPIDLE", "TCP_KEEPCNT", "TCP_KEEPINTVL"},
    "time": {"tzset", "clock_gettime_ns", "pthread_getcpuclockid"},
}
# Keyword arguments that POSIX-only APIs take (subprocess raises ValueError on Windows).
POSIX_KEYWORDS = {"preexec_fn", "pass_fds", "process_group", "user", "group", "extra_groups", "umask"}
# Linux-only names that are strings or foreign calls.
LINUX_STRINGS = ("/proc/", "/dev/shm", "prctl")
GUARD_WORDS = ("platform", "os.name", "hasattr", "WINDOWS", "POSIX", "win32")


def _modules() -> Iterator[Path]:
    for package in PACKAGES:
        yield from (p for p in sorted((ROOT / package).rglob("*.py")) if "__pycache__" not in p.parts)


def _guarded(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    if isinstance(node, (ast.If, ast.IfExp)) and test is not None:
        text = ast.unparse(test)
        return any(word in text for word in GUARD_WORDS)
    if isinstance(node, ast.Try):
        caught = " ".join(ast.unparse(h.type) for h in node.handlers if h.type is not None)
        return any(e in caught for e in ("ImportError", "ModuleNotFoundError", "AttributeError"))
    return False


def posix_uses(source: str) -> list[str]:
    """Every unguarded POSIX-only use in source, as 'line: what'."""
    tree = ast.parse(source)
    found: list[str] = []

    def visit(node: ast.AST, guarded: bool) -> None:
        here = guarded or _guarded(node)
        what = _posix_only(node)
        if what and not here:
            found.append(f"{getattr(node, 'lineno', '?')}: {what}")
        for child in ast.iter_child_nodes(node):
            visit(child, here)

    visit(tree, False)
    return found


def _posix_only(node: ast.AST) -> str | None:
    if isinstance(node, ast.Import):
        names = [a.name.split(".")[0] for a in node.names]
        bad = [n for n in names if n in POSIX_MODULES]
        return f"import {bad[0]}" if bad else None
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        if node.module.split(".")[0] in POSIX_MODULES:
            return f"from {node.module} import"
        attributes = POSIX_ATTRIBUTES.get(node.module, set())
        bad = [a.name for a in node.names if a.name in attributes]
        return f"from {node.module} import {bad[0]}" if bad else None
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        if node.attr in POSIX_ATTRIBUTES.get(node.value.id, set()):
            return f"{node.value.id}.{node.attr}"
        if node.attr == "prctl":
            return "prctl"
    if isinstance(node, ast.keyword) and node.arg in POSIX_KEYWORDS:
        return f"{node.arg}="
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        for word in LINUX_STRINGS:
            if word in node.value and not node.value.strip().startswith(("\"", "'")) \
                    and len(node.value) < 120:
                return repr(node.value)
    return None


@pytest.mark.parametrize("path", list(_modules()), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_posix_only_facilities_are_guarded(path: Path) -> None:
    assert posix_uses(path.read_text(encoding="utf-8")) == []


def test_the_check_sees_unguarded_uses_and_accepts_guards() -> None:
    bad = ("import fcntl\nimport os, signal, subprocess\nos.kill(1, signal.SIGKILL)\n"
           "subprocess.Popen(['x'], preexec_fn=f)\nopen('/proc/1/stat')\n")
    assert posix_uses(bad) == ["1: import fcntl", "3: signal.SIGKILL", "4: preexec_fn=", "5: '/proc/1/stat'"]
    good = ("import sys, os, signal\nif sys.platform != 'win32':\n    import fcntl\n"
            "KILL = signal.SIGKILL if os.name == 'posix' else signal.SIGTERM\n"
            "try:\n    import resource\nexcept ImportError:\n    resource = None\n"
            "if hasattr(os, 'fchmod'):\n    os.fchmod(3, 0o644)\n")
    assert posix_uses(good) == []
