"""The checkpoint tools: the open scene saved as a .blend in the work folder under a name,
and opened again by that name, in every mode. Main thread only.

Saving writes a copy: Blender's open file, its path and its unsaved changes stay as they
were. Restoring opens the copy as Blender's file (its path is then the checkpoint's), which
replaces every data-block: what Python held of the old ones is gone (sessions' variables
that point into the scene), and in a GUI Blender the undo history starts again there, as
after any File > Open. The server goes on serving: it lives outside the file (a thread, and
in the GUI a persistent timer whose load_pre handler is persistent too)."""

from __future__ import annotations

import os
import secrets
import time
from typing import Any

import bpy

from ..errors import HttpError
from .lookup import not_found
from .written import probe_space

FOLDER = "checkpoints"
SUFFIX = ".blend"
# Names answered beside a checkpoint, newest first.
LISTED = 20


def new_name() -> str:
    """A fresh name: the time and a few random letters, so names sort by age."""
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def save(root: str, name: str) -> dict[str, Any]:
    """Save the open scene as checkpoints/<name>.blend in root (replacing one of that name)."""
    folder = os.path.join(root, FOLDER)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name + SUFFIX)
    partial = os.path.join(folder, f".{name}-{secrets.token_hex(4)}{SUFFIX}")
    try:
        # copy: the open file keeps its own path; relative paths (images, libraries) are
        # rewritten for the checkpoint's folder, so it finds what the scene uses.
        result = bpy.ops.wm.save_as_mainfile(filepath=partial, copy=True, check_existing=False)
        if "FINISHED" not in result or not os.path.isfile(partial):
            raise HttpError(500, f"Blender did not save the checkpoint {name!r}")
        probe_space(folder, f"the checkpoint {name!r} may be incomplete")
        os.replace(partial, path)  # a checkpoint of that name is whole, old or new, at any time
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return {"name": name, "path": f"{FOLDER}/{name}{SUFFIX}", "size": os.path.getsize(path),
            "objects": len(bpy.context.scene.objects), "checkpoints": names(root)[:LISTED]}


def restore(root: str, name: str) -> dict[str, Any]:
    """Open checkpoints/<name>.blend from root as Blender's file; 404 naming the close ones."""
    path = os.path.join(root, FOLDER, name + SUFFIX)
    if not os.path.isfile(path):
        raise not_found("checkpoint", name, names(root))
    before = bpy.data.filepath or None
    # load_ui=False: a GUI keeps its windows and editors as they are.
    result = bpy.ops.wm.open_mainfile(filepath=path, load_ui=False)
    if "FINISHED" not in result:
        raise HttpError(500, f"Blender did not open the checkpoint {name!r}")
    scene = bpy.context.scene
    return {"name": name, "path": f"{FOLDER}/{name}{SUFFIX}", "file": bpy.data.filepath or None,
            "file_before": before, "scene": scene.name, "objects": len(scene.objects),
            "note": "Blender's open file is now the checkpoint; save it under a name of your own "
                    "to keep working on it elsewhere"}


def names(root: str) -> list[str]:
    """The checkpoints in root's work folder, newest first."""
    folder = os.path.join(root, FOLDER)
    try:
        entries = [entry for entry in os.scandir(folder)
                   if entry.name.endswith(SUFFIX) and not entry.name.startswith(".")
                   and entry.is_file(follow_symlinks=False)]
    except FileNotFoundError:
        return []
    entries.sort(key=lambda entry: entry.stat().st_mtime_ns, reverse=True)
    return [entry.name[:-len(SUFFIX)] for entry in entries]
