"""Temporary folders of the servers this machine's processes start: one of a parent's own
(own_folder), and one for each child, its whole temporary folder (private_temp). A process
killed outright cleans up nothing of its own; these let the parent, or the next parent of
the same kind, remove what it left."""

from __future__ import annotations

import getpass
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

from . import processes


def own_folder(kind: str) -> Path:
    """This process's folder, `<temp>/blender-http-<kind>-<user>/<pid>`, made empty (mode
    0700), after removing the folders there of processes that are gone. The parent folder
    must be this user's alone: one that another local user made first would let them swap
    what is put inside (a child's ready file, and with it where requests go). Raises
    OSError otherwise."""
    parent = Path(tempfile.gettempdir()) / f"blender-http-{kind}-{getpass.getuser()}"
    try:
        parent.mkdir(mode=0o700)
    except FileExistsError:
        pass
    _check_private(parent)
    for old in parent.iterdir():
        if old.name.isdigit() and not processes.alive(int(old.name)):
            shutil.rmtree(old, ignore_errors=True)
    folder = parent / str(os.getpid())
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o700)
    return folder


def private_temp(folder: Path) -> dict[str, str]:
    """The environment that gives a child server folder (made empty here) as its temporary
    folder, for Python's tempfile (TMPDIR, TEMP, TMP on every platform) and Blender (TMPDIR;
    TEMP and TMP on Windows): its scratch work folder, Blender's own session folder and
    whatever its code writes there are then in folder, which its parent removes once the
    child has ended, however it ended."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o700, parents=True)
    return dict.fromkeys(("TMPDIR", "TEMP", "TMP"), str(folder))


def _check_private(folder: Path) -> None:
    found = os.lstat(folder)
    if not stat.S_ISDIR(found.st_mode):
        raise OSError(f"{folder} is not a folder (a link?); remove it")
    if sys.platform != "win32" and (found.st_uid != os.getuid() or found.st_mode & 0o077):
        # Windows: the temporary folder is the user's own already.
        raise OSError(f"{folder} is not this user's alone (owner uid {found.st_uid}, mode "
                      f"{stat.S_IMODE(found.st_mode):o}); remove it")
