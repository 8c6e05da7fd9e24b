"""How `start` finds Blender on Windows (client/local/discovery.py), run by Windows CPython
3.11 and 3.13 against Blender install trees laid out in the session's Wine prefix: the
installer's `C:\\Program Files\\Blender Foundation\\Blender X.Y\\blender.exe` (three versions)
and Steam's `C:\\Program Files (x86)\\Steam\\steamapps\\common\\Blender\\blender.exe`.

The stand-in blender.exe files are real Windows programs (wine.Session.script_exe: pip's
console-script launcher and a script run by the session's Windows 3.11) that answer
`--version` as Blender does. `find-blender` and the discovery functions must list
them in the documented order: --blender, BLENDER_PATH, PATH, then the install places, the
newest version first in each."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.windows import wine

# The first test to run may set up Wine, the Pythons and their packages (minutes, on a fresh
# machine) before its own work.
pytestmark = pytest.mark.timeout(1200)

INSIDE = Path(__file__).resolve().parent / "inside"
PROGRAM_FILES = "C:\\Program Files"
X86 = "C:\\Program Files (x86)"
STEAM = f"{X86}\\Steam\\steamapps\\common\\Blender\\blender.exe"
# (Windows path, what it prints for --version; None: not a Blender)
STANDINS = {
    f"{PROGRAM_FILES}\\Blender Foundation\\Blender 3.6\\blender.exe": "Blender 3.6.23",
    f"{PROGRAM_FILES}\\Blender Foundation\\Blender 4.2\\blender.exe": "Blender 4.2.3 LTS",
    f"{PROGRAM_FILES}\\Blender Foundation\\Blender 4.5\\blender.exe": "Blender 4.5.1 LTS",
    STEAM: "Blender 5.0.1",
    "C:\\Tools\\Not Blender\\blender.exe": None,
}
# Newest first in Program Files, then Steam.
INSTALL_ORDER = [
    [f"{PROGRAM_FILES}\\Blender Foundation\\Blender 4.5\\blender.exe", "4.5.1", "install"],
    [f"{PROGRAM_FILES}\\Blender Foundation\\Blender 4.2\\blender.exe", "4.2.3", "install"],
    [f"{PROGRAM_FILES}\\Blender Foundation\\Blender 3.6\\blender.exe", "3.6.23", "install"],
    [STEAM, "5.0.1", "install"],
]
NOT_BLENDER = "C:\\Tools\\Not Blender\\blender.exe"
ENV = {"BLENDER_PATH": ""}

STANDIN_MAIN = """\
import sys
if sys.argv[1:] == ["--version"]:
    print({text!r})
    print("\\tbuild date: 2026-01-01")
    sys.exit(0)
print("a stand-in for discovery tests: only --version", file=sys.stderr)
sys.exit(1)
"""


@pytest.fixture(scope="module")
def blender_installs(wine_session: wine.Session) -> Iterator[dict[str, str | None]]:
    for windows, text in STANDINS.items():
        wine_session.script_exe(windows, STANDIN_MAIN.format(text=text or "Python 3.11.9"))
    try:
        yield STANDINS
    finally:
        for top in ("Program Files\\Blender Foundation", "Program Files (x86)\\Steam", "Tools"):
            shutil.rmtree(wine_session.drive_c(f"C:\\{top}"), ignore_errors=True)


def test_find_blender_command(wine_session: wine.Session, blender_installs: dict[str, str | None]) -> None:
    newest, version, _ = INSTALL_ORDER[0]
    for python, done in wine_session.run_all(["-m", "blender_http", "find-blender"], env=ENV).items():
        assert (done.returncode, done.stdout) == (0, f"{newest}\t{version}\n"), (python, done)
    every = wine_session.run_all(["-m", "blender_http", "find-blender", "--all", "--json"], env=ENV)
    for python, done in every.items():
        assert done.returncode == 0, (python, done)
        listed = [[f["path"], f["version"], f["source"]] for f in json.loads(done.stdout)]
        assert listed == INSTALL_ORDER, (python, listed)
    # --blender: that one, if it answers like Blender.
    steam = wine_session.run_all(["-m", "blender_http", "find-blender", "--blender", STEAM], env=ENV)
    for python, done in steam.items():
        assert (done.returncode, done.stdout) == (0, f"{STEAM}\t5.0.1\n"), (python, done)
    other = wine_session.run_all(["-m", "blender_http", "find-blender", "--blender", NOT_BLENDER], env=ENV)
    for python, done in other.items():
        assert done.returncode == 1, (python, done)
        assert "does not answer --version like Blender" in done.stderr, (python, done)


def test_discovery_order(wine_session: wine.Session, blender_installs: dict[str, str | None]) -> None:
    older = f"{PROGRAM_FILES}\\Blender Foundation\\Blender 3.6"
    args = [wine.windows_path(INSIDE / "discover.py"), older, STEAM, NOT_BLENDER]
    for python, done in wine_session.run_all(args, env=ENV).items():
        assert done.returncode == 0, (python, done)
        report = json.loads(done.stdout.strip().splitlines()[-1])
        assert (report["ProgramFiles"], report["ProgramFiles(x86)"]) == (PROGRAM_FILES, X86), report
        assert report["install"] == report["32-bit"] == INSTALL_ORDER, (python, report)
        assert report["start"] == INSTALL_ORDER[0][0]
        assert report["path"] == [[f"{older}\\blender.exe", "3.6.23", "PATH"]], report
        assert report["env"] == [[STEAM, "5.0.1", "BLENDER_PATH"]], report
        # --blender is used as given (find-blender checks that it answers like Blender).
        assert report["explicit"] == NOT_BLENDER
        assert report["missing"] == f"{NOT_BLENDER}.missing is not an executable file"
