"""The Blender versions the project is tested against, and the Pythons they run on.

Debian's Blender 3.4 runs as an executable (background and GUI); every other version is
the bpy wheel from PyPI in a virtualenv of its own under the test cache (module mode),
reused between runs and between checkouts: `~/.cache/blender-http-tests/`, or
$BLENDER_HTTP_TEST_CACHE. `python -m tests.versions.matrix` creates what is missing and fails loudly
when it cannot (scripts/test runs it before the tests).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Outside the checkout, so a fresh clone (as CI makes) finds the wheels and venvs again.
CACHE = Path(os.environ.get("BLENDER_HTTP_TEST_CACHE") or Path.home() / ".cache" / "blender-http-tests")


@dataclasses.dataclass(frozen=True)
class Target:
    """One row of the matrix: a Blender in a mode on a Python."""

    blender: str  # the version it must report, e.g. "4.2.23"
    mode: str  # module, background or gui
    python: str  # "3.11", or "3.11 (Blender's own)" for an executable

    @property
    def id(self) -> str:
        return f"{self.blender}-{self.mode}"

    @property
    def venv(self) -> Path | None:
        """The virtualenv holding this bpy wheel (module mode only)."""
        if self.mode != "module":
            return None
        return CACHE / f"bpy-{self.blender}-py{self.python}"

    @property
    def executable(self) -> Path | None:
        """The Python that imports this bpy (module mode only)."""
        venv = self.venv
        return venv / "bin" / "python" if venv is not None else None


DEBIAN_BLENDER = "3.4.1"
TARGETS = (
    Target(DEBIAN_BLENDER, "gui", "3.11 (Blender's own)"),
    Target(DEBIAN_BLENDER, "background", "3.11 (Blender's own)"),
    Target("4.2.23", "module", "3.11"),  # LTS
    Target("4.5.15", "module", "3.11"),  # LTS
    Target("5.0.1", "module", "3.11"),  # the newest bpy for Python 3.11
    Target("5.3.0", "module", "3.13"),  # the newest bpy, which needs Python 3.13
)
MODULE_TARGETS = tuple(t for t in TARGETS if t.mode == "module")
# The client, CLI and gateway (no bpy) are also tested on this Python, with the oldest uvicorn
# the gateway supports (its protocol builds on uvicorn's: serving/protocol.py); the project's
# own virtualenv has the newest.
CLIENT_ONLY_PYTHON = "3.12"
CLIENT_VENV = CACHE / f"client-py{CLIENT_ONLY_PYTHON}"


def lowest(package: str, extra: str = "gateway") -> str:
    """The lowest version of package that pyproject.toml's extra accepts (its `>=` bound)."""
    with open(ROOT / "pyproject.toml", "rb") as file:
        wanted = tomllib.load(file)["project"]["optional-dependencies"][extra]
    for requirement in wanted:
        name, found, version = requirement.partition(">=")
        if found and name.strip() == package:
            return version.split(",")[0].split(";")[0].strip()
    raise LookupError(f"no {package}>=... in the {extra} extra of pyproject.toml")


OLDEST_UVICORN = lowest("uvicorn")


class MatrixError(Exception):
    """A Python or a virtualenv of the matrix cannot be had on this machine."""


def find_python(version: str) -> Path:
    """A Python of version (e.g. "3.13"): $PYTHON313, else pyenv's newest, else on PATH."""
    variable = "PYTHON" + version.replace(".", "")
    candidates = [os.environ.get(variable)]
    if shutil.which("pyenv"):
        latest = _output(["pyenv", "latest", version])
        if latest:
            candidates.append(f"{_output(['pyenv', 'prefix', latest])}/bin/python{version}")
    candidates.append(shutil.which(f"python{version}"))
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and _output([candidate, "-c", _VERSION]) == version:
            return Path(candidate)
    raise MatrixError(f"no Python {version} here: set ${variable}, or install it "
                      f"(pyenv install {version})")


_VERSION = "import sys; print('%d.%d' % sys.version_info[:2])"


def _output(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def prepare_venv(venv: Path, python: str, requirements: list[str], project: str) -> None:
    """Create venv from Python python (once) with requirements and this project installed."""
    marker = venv / ".ready"
    # The checkout is part of it: a venv another checkout prepared holds that one's code.
    wanted = "\n".join([*requirements, f"{ROOT}{project}"]) + "\n"
    if marker.exists() and marker.read_text() == wanted:
        return
    print(f"preparing {venv}: {' '.join(requirements)} and {ROOT}{project}", flush=True)
    if not (venv / "bin" / "python").exists():
        _run([str(find_python(python)), "-m", "venv", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    # The wheels are large (bpy is 300-400 MB): pip keeps them in the test cache.
    env = {**os.environ, "PIP_CACHE_DIR": str(CACHE / "pip")}
    if requirements:
        _run([*pip, *requirements], env)
    _run([*pip, "-e", f"{ROOT}{project}"], env)
    marker.write_text(wanted)


def _run(command: list[str], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(command, env=env)
    if done.returncode != 0:
        raise MatrixError(f"failed ({done.returncode}): {' '.join(command)}")


def prepare() -> None:
    """Every virtualenv of the matrix, created or checked."""
    for target in MODULE_TARGETS:
        assert target.venv is not None
        prepare_venv(target.venv, target.python, [f"bpy=={target.blender}", "numpy"], "")
    # Installed first, it stays: the project's `uvicorn>=` accepts it.
    prepare_venv(CLIENT_VENV, CLIENT_ONLY_PYTHON, [f"uvicorn=={OLDEST_UVICORN}"], "[gateway]")


if __name__ == "__main__":
    try:
        prepare()
    except MatrixError as exc:
        sys.exit(f"version matrix: {exc}")
