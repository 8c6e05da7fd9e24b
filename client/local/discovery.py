"""Finding Blender executables on this machine and asking them their version."""

from __future__ import annotations

import dataclasses
import glob
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

_VERSION = re.compile(r"Blender (\d+\.\d+(?:\.\d+)?)")


@dataclasses.dataclass(frozen=True)
class FoundBlender:
    path: str
    version: str | None
    # Where it was found: "--blender", "BLENDER_PATH", "PATH", "snap", "flatpak", "install".
    source: str


def candidates(explicit: str | None = None) -> Iterator[tuple[str, str]]:
    """(path, source) of every Blender executable worth trying, best first, each once."""
    seen: set[str] = set()
    for path, source in _ordered(explicit):
        if not path or not is_executable(path):
            continue
        key = os.path.realpath(path)
        if key in seen:
            continue
        seen.add(key)
        yield path, source


def find(explicit: str | None = None) -> FoundBlender | None:
    """The Blender to use: --blender, $BLENDER_PATH, PATH, then the usual install places."""
    for path, source in candidates(explicit):
        return FoundBlender(path, blender_version(path), source)
    return None


def find_all() -> list[FoundBlender]:
    """Every Blender found, with its version."""
    return [FoundBlender(path, blender_version(path), source) for path, source in candidates()]


def blender_version(path: str, timeout: float = 60.0) -> str | None:
    """The version `path --version` prints, or None if it does not answer like Blender."""
    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, errors="replace")
    except (OSError, subprocess.SubprocessError):
        return None
    found = _VERSION.search(done.stdout)
    return found.group(1) if found else None


def is_executable(path: str) -> bool:
    return Path(path).is_file() and os.access(path, os.X_OK)


def _ordered(explicit: str | None) -> Iterator[tuple[str, str]]:
    if explicit:
        yield explicit, "--blender"
        return
    env = os.environ.get("BLENDER_PATH")
    if env:
        yield env, "BLENDER_PATH"
    for name in ("blender", "blender.exe"):
        found = shutil.which(name)
        if found:
            yield found, "PATH"
    if sys.platform.startswith("linux"):  # elsewhere "/snap/..." would name a folder of C: (Wine: Z:)
        yield "/snap/bin/blender", "snap"
        for root in ("/var/lib/flatpak", os.path.expanduser("~/.local/share/flatpak")):
            yield f"{root}/exports/bin/org.blender.Blender", "flatpak"
    for pattern in _install_patterns():
        # Newest version first: the names end in the version number.
        for path in sorted(glob.glob(pattern), key=_natural_key, reverse=True):
            yield path, "install"


def _install_patterns() -> list[str]:
    home = os.path.expanduser("~")
    if sys.platform == "darwin":
        return ["/Applications/Blender*.app/Contents/MacOS/Blender",
                f"{home}/Applications/Blender*.app/Contents/MacOS/Blender"]
    if sys.platform == "win32":
        # The installer's place, then Steam's. ProgramW6432 is the 64-bit Program Files for a
        # 32-bit Python too (its ProgramFiles is the x86 one); Blender is 64-bit since 2.80.
        native = os.environ.get("ProgramW6432") or os.environ.get("ProgramFiles") or r"C:\Program Files"
        x86 = os.environ.get("ProgramFiles(x86)") or r"C:\Program Files (x86)"
        roots = dict.fromkeys([native, os.environ.get("ProgramFiles") or native, x86])
        patterns = [os.path.join(root, "Blender Foundation", "Blender*", "blender.exe") for root in roots]
        patterns.append(os.path.join(x86, "Steam", "steamapps", "common", "Blender", "blender.exe"))
        return patterns
    return ["/usr/local/bin/blender", "/opt/blender*/blender", "/opt/Blender*/blender",
            f"{home}/blender*/blender", f"{home}/Applications/blender*/blender",
            f"{home}/.local/bin/blender", f"{home}/.steam/steam/steamapps/common/Blender/blender"]


def _natural_key(text: str) -> list[object]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]
