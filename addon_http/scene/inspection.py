"""The inspect tool: what a model needs to check its own work, per object (evaluated counts
after modifiers, world bounding box, non-manifold edges, zero-area faces, unapplied scale)
and for the scene (files it needs that are missing, linked libraries). Main thread only."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from typing import Any

import bmesh  # type: ignore[import-not-found]  # Blender's own, no stubs
import bpy

from ..errors import HttpError
from . import view
from .lookup import not_found

# Meshes with more edges than this (after modifiers) are not walked for non-manifold edges
# and zero-area faces: building a BMesh of a million-face mesh takes seconds of Blender's
# main thread. The counts are then null, and the answer says why.
MAX_CHECKED_EDGES = 250_000
# A face whose area is at most this (square units, in the object's own space) counts as
# zero-area: float32 coordinates leave a collapsed face a little area now and then.
ZERO_AREA = 1e-10
# Scale within this of 1 on every axis counts as applied.
SCALE_TOLERANCE = 1e-6
# Missing files and linked libraries listed at most; `missing_files_total` counts them all.
MAX_LISTED_FILES = 50
# Types that evaluate to a mesh (after modifiers), and so have counts and checks.
MESH_LIKE = frozenset({"MESH", "CURVE", "SURFACE", "FONT", "META"})
# Types with a place but no extent: no bounding box.
NO_BOX = frozenset({"EMPTY", "CAMERA", "LIGHT", "LIGHT_PROBE", "LIGHTPROBE", "SPEAKER"})


def inspect(names: list[str] | None, type_name: str | None, limit: int, offset: int) -> dict[str, Any]:
    """The scene's files and libraries, and one page (sorted by name) of its objects, or of
    those named, checked."""
    bpy.context.view_layer.update()  # transforms set from Python reach matrix_world only so
    objects = _chosen(names, type_name)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    page = [_object(obj, depsgraph) for obj in objects[offset:offset + limit]]
    missing = list(_missing_files())
    libraries = [{"name": library.name, "path": library.filepath,
                  "missing": not _exists(library.filepath, None),
                  "objects": sum(1 for obj in bpy.data.objects if obj.library == library)}
                 for library in bpy.data.libraries]
    return {
        "ok": True,
        "scene": bpy.context.scene.name,
        "file": bpy.data.filepath or None,
        "missing_files": missing[:MAX_LISTED_FILES],
        "missing_files_total": len(missing),
        "libraries": libraries[:MAX_LISTED_FILES],
        "libraries_total": len(libraries),
        "total": len(objects),
        "offset": offset,
        "limit": limit,
        "objects": page,
    }


def _chosen(names: list[str] | None, type_name: str | None) -> list[bpy.types.Object]:
    scene_objects = bpy.context.scene.objects
    if names is not None:
        objects = []
        for name in dict.fromkeys(names):
            obj = scene_objects.get(name)
            if obj is None:
                raise not_found("object in the scene", name, scene_objects.keys())
            objects.append(obj)
    else:
        objects = list(scene_objects)
    if type_name is not None:
        wanted = type_name.upper()
        types = view.object_types()
        if wanted not in types:
            raise HttpError(400, f"unknown object type {type_name!r}; use one of {', '.join(types)}")
        objects = [obj for obj in objects if obj.type == wanted]
    return sorted(objects, key=lambda obj: obj.name)


def _object(obj: bpy.types.Object, depsgraph: Any) -> dict[str, Any]:
    scale = [float(v) for v in obj.scale]
    unapplied = any(abs(v - 1.0) > SCALE_TOLERANCE for v in scale)
    out: dict[str, Any] = {
        "name": obj.name,
        "type": obj.type,
        "bounds": _world_bounds(obj, depsgraph),
        "scale": _floats(scale),
        "unapplied_scale": unapplied,
        "modifiers": [m.type for m in obj.modifiers] if hasattr(obj, "modifiers") else [],
        "mesh": None,
        "evaluated": None,
    }
    if obj.type == "MESH" and obj.data is not None:
        mesh = obj.data
        out["mesh"] = {"vertices": len(mesh.vertices), "edges": len(mesh.edges),
                       "polygons": len(mesh.polygons)}
    if obj.type in MESH_LIKE:
        out["evaluated"] = _evaluated(obj, depsgraph)
    out["issues"] = _issues(out)
    return out


def _evaluated(obj: bpy.types.Object, depsgraph: Any) -> dict[str, Any] | None:
    """Counts and checks of the object as it renders: after modifiers, in its own space."""
    evaluated = obj.evaluated_get(depsgraph)
    try:
        mesh = evaluated.to_mesh()
    except RuntimeError:
        return None
    if mesh is None:  # e.g. a curve with nothing to show
        return {"vertices": 0, "edges": 0, "polygons": 0, "triangles": 0,
                "non_manifold_edges": 0, "zero_area_faces": 0}
    try:
        mesh.calc_loop_triangles()  # in C: a million faces take milliseconds
        out: dict[str, Any] = {"vertices": len(mesh.vertices), "edges": len(mesh.edges),
                               "polygons": len(mesh.polygons), "triangles": len(mesh.loop_triangles)}
        if len(mesh.edges) > MAX_CHECKED_EDGES:
            out.update(non_manifold_edges=None, zero_area_faces=None,
                       not_checked=f"more than {MAX_CHECKED_EDGES} edges: not walked for "
                                   "non-manifold edges and zero-area faces")
            return out
        checked = bmesh.new()
        try:
            checked.from_mesh(mesh)
            out["non_manifold_edges"] = sum(1 for edge in checked.edges if not edge.is_manifold)
            out["zero_area_faces"] = sum(1 for face in checked.faces if face.calc_area() <= ZERO_AREA)
        finally:
            checked.free()
        return out
    finally:
        evaluated.to_mesh_clear()


def _world_bounds(obj: bpy.types.Object, depsgraph: Any) -> dict[str, Any] | None:
    """The axis-aligned box around the evaluated object's bounding box in world space."""
    evaluated = obj.evaluated_get(depsgraph)
    if obj.type in NO_BOX:
        return None
    matrix = evaluated.matrix_world
    corners = [matrix @ _vector(corner) for corner in evaluated.bound_box]
    low = [min(c[axis] for c in corners) for axis in range(3)]
    high = [max(c[axis] for c in corners) for axis in range(3)]
    return {"min": _floats(low), "max": _floats(high),
            "size": _floats([h - lo for lo, h in zip(low, high, strict=True)])}


def _vector(values: Any) -> Any:
    from mathutils import Vector

    return Vector(tuple(values))


def _issues(found: dict[str, Any]) -> list[str]:
    """What looks wrong, in words a model acts on."""
    issues = []
    evaluated = found.get("evaluated") or {}
    if evaluated.get("non_manifold_edges"):
        issues.append(f"{evaluated['non_manifold_edges']} non-manifold edges (holes, loose or "
                      "shared edges): not watertight")
    if evaluated.get("zero_area_faces"):
        issues.append(f"{evaluated['zero_area_faces']} zero-area faces")
    if found["unapplied_scale"]:
        issues.append(f"unapplied scale {found['scale']}: apply it (object.transform_apply) before "
                      "modifiers, bevels or export")
    return issues


# Data-blocks that point at a file on disk: (collection, what the answer calls it).
_FILE_OWNERS = (("images", "image"), ("libraries", "library"), ("sounds", "sound"),
                ("movieclips", "movie clip"), ("fonts", "font"), ("cache_files", "cache file"),
                ("volumes", "volume"))


def _missing_files() -> Iterator[dict[str, Any]]:
    """The data-blocks whose file is not on disk (packed and generated ones need none)."""
    for collection, kind in _FILE_OWNERS:
        for block in getattr(bpy.data, collection, ()):
            path = getattr(block, "filepath", "")
            if not path or path == "<builtin>" or getattr(block, "packed_file", None) is not None:
                continue
            if kind == "image" and block.source not in ("FILE", "MOVIE"):
                continue  # generated, or one path naming many files (<UDIM>, frame numbers)
            if not _exists(path, getattr(block, "library", None)):
                yield {"type": kind, "name": block.name, "path": path,
                       "absolute": bpy.path.abspath(path, library=getattr(block, "library", None))}


def _exists(path: str, library: Any) -> bool:
    return os.path.exists(bpy.path.abspath(path, library=library))


def _floats(values: Any) -> list[float | None]:
    return [float(f"{v:.7g}") if math.isfinite(v) else None for v in values]
