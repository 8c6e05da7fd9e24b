"""The wheel the images build (`pip wheel .` on the files their COPY lines send) holds
every module of the source folders: an image installs the wheel, not the source tree, so
a module missing from it fails only in a container."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.docker import dockerfiles


def build_stage_copies(dockerfile: Path) -> list[str]:
    """The sources the build stage copies from the context (the first stage)."""
    sources: list[str] = []
    for line in dockerfile.read_text().replace("\\\n", " ").splitlines():
        if line.startswith("FROM ") and sources:
            break
        if line.startswith("COPY ") and "--from=" not in line:
            words = [w for w in shlex.split(line)[1:] if not w.startswith("--")]
            sources += words[:-1]
    return sources


@pytest.mark.parametrize("dockerfile", dockerfiles.dockerfiles(), ids=lambda path: path.parent.name)
def test_the_wheel_holds_every_module(dockerfile: Path, tmp_path: Path) -> None:
    context = tmp_path / "src"
    for source in build_stage_copies(dockerfile):
        origin = dockerfiles.ROOT / source
        if origin.is_dir():
            shutil.copytree(origin, context / source,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            context.mkdir(exist_ok=True)
            shutil.copy2(origin, context / source)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                            "--no-index", "--wheel-dir", str(tmp_path / "wheels"), str(context)],
                           capture_output=True, text=True, timeout=300, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp_path / "wheels").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = set(archive.namelist())
    tool = tomllib.loads((dockerfiles.ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    missing = []
    for package, folder in tool["package-dir"].items():
        for module in sorted((dockerfiles.ROOT / folder).rglob("*.py")):
            if "__pycache__" in module.parts:
                continue
            installed = f"{package}/{module.relative_to(dockerfiles.ROOT / folder).as_posix()}"
            if installed not in in_wheel:
                missing.append(installed)
    # The data files too: the extension manifest, py.typed (type checkers read the client's hints).
    missing += [f"{package}/{name}" for package, names in tool["package-data"].items() for name in names
                if f"{package}/{name}" not in in_wheel]
    assert not missing, f"modules the images would lack: {missing}"
