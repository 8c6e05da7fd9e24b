"""Reading the project's Dockerfiles: instructions, the final stage's ENV, ENTRYPOINT, COPY."""

from __future__ import annotations

import dataclasses
import json
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"


@dataclasses.dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


def dockerfiles() -> list[Path]:
    """Every Dockerfile under docker/."""
    return sorted(DOCKER.glob("*/Dockerfile"))


def instructions(dockerfile: Path) -> list[Instruction]:
    """The instructions of the final stage, continuation lines joined, comments dropped."""
    result: list[Instruction] = []
    pending = ""
    for line in dockerfile.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        pending = ""
        if keyword.upper() == "FROM":
            result = []
        result.append(Instruction(keyword.upper(), arguments.strip()))
    return result


def image_env(dockerfile: Path) -> dict[str, str]:
    """The variables the image sets (ENV of the final stage)."""
    env: dict[str, str] = {}
    for instruction in instructions(dockerfile):
        if instruction.keyword == "ENV":
            for pair in shlex.split(instruction.arguments):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def secret_files(env: dict[str, str]) -> dict[str, str]:
    """The variables of env that name a secret file: every *_FILE but the ready file, which
    the server writes (its pid, for the liveness probe)."""
    return {k: v for k, v in env.items() if k.endswith("_FILE") and k != "BLENDER_HTTP_READY_FILE"}


def entrypoint(dockerfile: Path) -> list[str]:
    """The final stage's ENTRYPOINT, in exec form."""
    found = [i for i in instructions(dockerfile) if i.keyword == "ENTRYPOINT"]
    assert len(found) == 1, f"{dockerfile}: one ENTRYPOINT expected"
    command: list[str] = json.loads(found[0].arguments)
    return command


def copied_files(dockerfile: Path) -> dict[str, str]:
    """Destination in the image -> source in the repository, for the final stage's COPYs
    from the build context."""
    copies: dict[str, str] = {}
    for instruction in instructions(dockerfile):
        if instruction.keyword != "COPY":
            continue
        words = shlex.split(instruction.arguments)
        if any(word.startswith("--from") for word in words):
            continue
        *sources, destination = [word for word in words if not word.startswith("--")]
        for source in sources:
            copies[destination] = source
    return copies
