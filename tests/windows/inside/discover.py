"""Run by Windows CPython: which Blender `start` would use, as the client's discovery sees it
in several situations. Prints one JSON line, {situation: answer}.

    python.exe discover.py PATH_DIR BLENDER_PATH EXPLICIT
"""

from __future__ import annotations

import json
import os
import sys

from blender_http.local import discovery, launcher


def found(items: list[discovery.FoundBlender]) -> list[list[str | None]]:
    return [[item.path, item.version, item.source] for item in items]


def main() -> None:
    path_dir, env_path, explicit = sys.argv[1:4]
    os.environ.pop("BLENDER_PATH", None)
    report: dict[str, object] = {
        "ProgramFiles": os.environ.get("ProgramFiles"),
        "ProgramFiles(x86)": os.environ.get("ProgramFiles(x86)"),
        "install": found(discovery.find_all()),
        "start": launcher.find_blender(),
    }
    # A 32-bit Python's ProgramFiles is the x86 folder; ProgramW6432 still names the other.
    native = os.environ["ProgramFiles"]
    os.environ["ProgramFiles"] = os.environ["ProgramFiles(x86)"]
    report["32-bit"] = found(discovery.find_all())
    os.environ["ProgramFiles"] = native
    # A folder on PATH comes before the install places, BLENDER_PATH before PATH, and
    # --blender before everything.
    os.environ["PATH"] = os.environ.get("PATH", "") + os.pathsep + path_dir
    first = discovery.find()
    report["path"] = found([first] if first else [])
    os.environ["BLENDER_PATH"] = env_path
    first = discovery.find()
    report["env"] = found([first] if first else [])
    report["explicit"] = launcher.find_blender(explicit)
    try:
        launcher.find_blender(explicit + ".missing")
    except launcher.LaunchError as exc:
        report["missing"] = str(exc)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
