"""The scene and its objects as JSON (GET /scene, GET /objects/{name}) and a mesh's
vertex coordinates as packed float32 (GET /objects/{name}/vertices). Main thread only."""

from __future__ import annotations

import array
import math
from typing import Any

import bpy

from .. import convert
from ..errors import HttpError
from . import compat
from .lookup import not_found


def object_types() -> list[str]:
    """The object types this Blender knows (they differ between versions)."""
    return [item.identifier for item in bpy.types.Object.bl_rna.properties["type"].enum_items]


def scene_listing(limit: int, offset: int, type_name: str | None) -> dict[str, Any]:
    """The scene's settings and one page of its objects, sorted by name, optionally of one type."""
    scene = bpy.context.scene
    _evaluate()
    objects = sorted(scene.objects, key=lambda obj: obj.name)
    if type_name is not None:
        wanted = type_name.upper()
        types = object_types()
        if wanted not in types:
            raise HttpError(400, f"unknown object type {type_name!r}; use one of {', '.join(types)}")
        objects = [obj for obj in objects if obj.type == wanted]
    settings = scene.render
    return {
        "ok": True,
        "name": scene.name,
        "frame": {"start": scene.frame_start, "end": scene.frame_end, "current": scene.frame_current,
                  "fps": _number(settings.fps / settings.fps_base)},
        "render": {"engine": settings.engine,
                   "resolution": [settings.resolution_x, settings.resolution_y],
                   "percentage": settings.resolution_percentage,
                   "engines": compat.engines(scene)},
        "camera": scene.camera.name if scene.camera is not None else None,
        "total": len(objects),
        "offset": offset,
        "limit": limit,
        "objects": [summary(obj) for obj in objects[offset:offset + limit]],
    }


def find_object(name: str) -> bpy.types.Object:
    """The object named name, or 404 with the close matches."""
    obj = bpy.data.objects.get(name)
    if obj is None:
        raise not_found("object", name, bpy.data.objects.keys())
    return obj


def summary(obj: bpy.types.Object) -> dict[str, Any]:
    """What a listing says about one object."""
    return {
        "name": obj.name,
        "type": obj.type,
        "location": _floats(obj.location),
        "rotation": _floats(_euler(obj)),
        "scale": _floats(obj.scale),
        "dimensions": _floats(obj.dimensions),
        "parent": obj.parent.name if obj.parent is not None else None,
        "collections": [collection.name for collection in obj.users_collection],
        "visible": _visible(obj),
        "hide_viewport": obj.hide_viewport,
        "hide_render": obj.hide_render,
        "materials": [slot.material.name for slot in obj.material_slots if slot.material is not None],
    }


def details(name: str) -> dict[str, Any]:
    """Everything GET /objects/{name} tells about one object."""
    obj = find_object(name)
    _evaluate()
    data = obj.data
    out = summary(obj)
    out.update({
        "data": data.name if data is not None else None,
        "matrix_world": [_floats(row) for row in obj.matrix_world],
        "children": sorted(child.name for child in obj.children),
        "modifiers": [{"name": m.name, "type": m.type, "show_viewport": m.show_viewport,
                       "show_render": m.show_render} for m in obj.modifiers],
        "material_slots": [{"name": slot.name,
                            "material": slot.material.name if slot.material is not None else None,
                            "link": slot.link} for slot in obj.material_slots],
        "mesh": _mesh_counts(data) if obj.type == "MESH" else None,
        "custom_properties": _custom_properties(obj),
    })
    return {"ok": True, "object": out}


def vertices(name: str, space: str) -> array.array[float]:
    """The mesh's vertex coordinates, x y z after each other, as float32 (native byte
    order), in object (local) or world space. Read in C (compat.positions): a million take milliseconds."""
    obj = find_object(name)
    if obj.type != "MESH" or obj.data is None:
        raise HttpError(400, f"{obj.name!r} is a {obj.type}, which has no mesh data", type="NotAMesh")
    mesh = obj.data
    if space == "world":
        _evaluate()
        # A throwaway copy transformed in C: a Python loop over a million points takes seconds.
        mesh = mesh.copy()
        try:
            mesh.transform(obj.matrix_world)
            return compat.positions(mesh)
        finally:
            bpy.data.meshes.remove(mesh)
    return compat.positions(mesh)


def _evaluate() -> None:
    # Transforms set from Python reach matrix_world (and dimensions) only when the
    # dependency graph is evaluated, which otherwise waits for the next redraw.
    bpy.context.view_layer.update()


def _mesh_counts(mesh: bpy.types.Mesh) -> dict[str, int]:
    return {"vertices": len(mesh.vertices), "edges": len(mesh.edges),
            "polygons": len(mesh.polygons), "loops": len(mesh.loops)}


def _custom_properties(obj: bpy.types.Object) -> dict[str, Any]:
    out = {}
    for key in obj.keys():
        if key.startswith("_") or key == "cycles":  # Blender's and add-ons' own storage
            continue
        value = obj[key]
        for method in ("to_dict", "to_list"):  # ID property groups and arrays
            if hasattr(value, method):
                value = getattr(value, method)()
                break
        out[key] = convert.to_json(value)
    return out


def _euler(obj: bpy.types.Object) -> Any:
    if obj.rotation_mode in ("QUATERNION", "AXIS_ANGLE"):
        # rotation_euler is stale in these modes; the basis matrix is not.
        return obj.matrix_basis.to_quaternion().to_euler()
    return obj.rotation_euler


def _visible(obj: bpy.types.Object) -> bool:
    try:
        return bool(obj.visible_get())
    except RuntimeError:  # not in the current view layer
        return False


def _floats(values: Any) -> list[float | None]:
    return [_number(float(v)) for v in values]


def _number(value: float) -> float | None:
    # Blender stores float32: 7 significant digits say all there is (1.0, not 1.0000000474).
    # NaN and infinities become null, as in convert.py.
    return float(f"{value:.7g}") if math.isfinite(value) else None
