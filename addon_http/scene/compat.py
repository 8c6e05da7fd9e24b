"""Where Blender versions differ, in one place: the scene modules ask here instead of
checking versions themselves, and whatever this Blender lacks becomes one clear
`501 NotSupported` that names the version.

What moved, and where (each checked against a real Blender: Debian's 3.4 and the bpy
wheels 4.2, 4.5, 5.0 and 5.3):
- EEVEE's engine id: `BLENDER_EEVEE` in 3.x, `BLENDER_EEVEE_NEXT` in 4.2-4.5 (the
  rewrite), `BLENDER_EEVEE` again from 5.0. Either name reaches this build's EEVEE.
- OBJ, STL and PLY exporters and importers: 3.4 has the built-in `wm.obj_export`,
  `wm.obj_import` and `wm.stl_import`, but exports STL and reads and writes PLY through
  the Python add-ons (`export_mesh.stl`, `export_mesh.ply`, `import_mesh.ply`); from 4.2
  all six are built-in `wm.*` operators and those add-ons are gone. Debian's 3.4 is built
  without USD.
- Vertex positions: from 3.5 they are the generic "position" attribute, and
  `mesh.vertices.foreach_get("co", ...)` copies them one element at a time (a million
  took 80-230 ms in 4.2-5.3, against ~12 ms in 3.4); the attribute's own foreach_get
  copies them in one block.
- GPU drawing: `bgl` is gone in 5.0. The viewport is drawn through the `gpu` module only
  (GPUOffScreen, `texture_color.read()`), which every supported version has.
"""

from __future__ import annotations

import array
import ast
from typing import Any

import bpy

from ..errors import HttpError

WORKBENCH = "BLENDER_WORKBENCH"
CYCLES = "CYCLES"
# EEVEE's ids, newest first; a build offers one of them.
EEVEE_IDS = ("BLENDER_EEVEE", "BLENDER_EEVEE_NEXT")
# Engines Blender itself ships: asking for one the build lacks is 501, not a typo's 400.
BUILT_IN_ENGINES = (WORKBENCH, CYCLES, *EEVEE_IDS)

# Per format, operators in order of preference: (module, name, selection-only keyword,
# fixed keywords). The first one this Blender has is used.
Exporter = tuple[str, str, str, dict[str, Any]]
# glTF leaves cameras and lights out unless asked: "the whole scene" includes them (the
# other exporters write them by default, or, like OBJ and STL, cannot hold them).
GLTF_ALL = {"export_cameras": True, "export_lights": True}
EXPORTERS: dict[str, tuple[Exporter, ...]] = {
    "glb": (("export_scene", "gltf", "use_selection", {"export_format": "GLB", **GLTF_ALL}),),
    # Written with side files, then inlined: GLTF_EMBEDDED is gone from newer exporters.
    "gltf": (("export_scene", "gltf", "use_selection", {"export_format": "GLTF_SEPARATE", **GLTF_ALL}),),
    "obj": (("wm", "obj_export", "export_selected_objects", {"export_materials": False}),
            ("export_scene", "obj", "use_selection", {"use_materials": False})),
    "fbx": (("export_scene", "fbx", "use_selection", {}),),
    "stl": (("wm", "stl_export", "export_selected_objects", {}),
            ("export_mesh", "stl", "use_selection", {})),
    "ply": (("wm", "ply_export", "export_selected_objects", {}),
            ("export_mesh", "ply", "use_selection", {})),
    "usd": (("wm", "usd_export", "selected_objects_only", {}),),
}
Importer = tuple[str, str]
IMPORTERS: dict[str, tuple[Importer, ...]] = {
    "glb": (("import_scene", "gltf"),),
    "gltf": (("import_scene", "gltf"),),
    "obj": (("wm", "obj_import"), ("import_scene", "obj")),
    "fbx": (("import_scene", "fbx"),),
    "stl": (("wm", "stl_import"), ("import_mesh", "stl")),
    "ply": (("wm", "ply_import"), ("import_mesh", "ply")),
    "usd": (("wm", "usd_import"),),
}


def version() -> str:
    """This Blender's version, e.g. '4.2.23'."""
    return ".".join(str(part) for part in bpy.app.version)


def not_supported(what: str) -> HttpError:
    """501 NotSupported: this Blender, named by its version, has no what."""
    return HttpError(501, f"this Blender ({version()}) has no {what}", type="NotSupported")


# -- render engines ----------------------------------------------------------------

def engines(scene: bpy.types.Scene) -> list[str]:
    """The render engines this Blender offers (built-in and add-ons')."""
    try:
        scene.render.engine = "\x01"  # refused, and the refusal lists the valid names
    except TypeError as exc:
        found = _names_in_refusal(str(exc))
        if found:
            return found
    return [scene.render.engine]  # a refusal worded otherwise: at least the current one


def _names_in_refusal(message: str) -> list[str]:
    # 'enum "\x01" not found in ('BLENDER_EEVEE', 'BLENDER_WORKBENCH', 'CYCLES')'
    start = message.rfind("(")
    try:
        names = ast.literal_eval(message[start:])
    except (ValueError, SyntaxError):
        return []
    return [str(name) for name in names] if isinstance(names, tuple) else []


def engine_id(name: str, offered: list[str]) -> str:
    """This build's id for the engine name: EEVEE by either of its ids; 501 for a built-in
    engine this build lacks, 400 for a name no Blender knows."""
    if name in offered:
        return name
    if is_eevee(name):
        for candidate in EEVEE_IDS:
            if candidate in offered:
                return candidate
    if name in BUILT_IN_ENGINES:
        raise HttpError(501, f"this Blender ({version()}) has no {name} engine; it offers "
                        f"{', '.join(offered)}", type="NotSupported")
    raise HttpError(400, f"unknown engine {name!r}; this Blender offers {', '.join(offered)}")


def is_eevee(engine: str) -> bool:
    """Whether engine is EEVEE under any version's id."""
    return engine in EEVEE_IDS


# -- export and import -------------------------------------------------------------

def exporter(format_name: str) -> Exporter:
    """The export operator this Blender has for format_name, or 501."""
    for candidate in EXPORTERS[format_name]:
        if has_operator(candidate[0], candidate[1]):
            return candidate
    raise not_supported(f"{format_name} exporter")


def importer(format_name: str) -> Importer:
    """The import operator this Blender has for format_name, or 501."""
    for candidate in IMPORTERS[format_name]:
        if has_operator(*candidate):
            return candidate
    raise not_supported(f"{format_name} importer")


def has_operator(module: str, name: str) -> bool:
    """Whether bpy.ops.<module>.<name> exists in this Blender (add-on operators included)."""
    try:
        getattr(getattr(bpy.ops, module), name).get_rna_type()
    except (AttributeError, KeyError):
        return False
    return True


# -- meshes ------------------------------------------------------------------------

def positions(mesh: bpy.types.Mesh) -> array.array[float]:
    """The mesh's vertex coordinates, x y z after each other, as float32 (native byte order),
    copied in C in one block where this Blender allows it."""
    # Repeating one zero is a block copy; array("f", bytes(n)) first builds n zero bytes.
    coords = array.array("f", [0.0]) * (3 * len(mesh.vertices))
    position = mesh.attributes.get("position") if bpy.app.version >= (3, 5, 0) else None
    if position is not None and position.domain == "POINT" and position.data_type == "FLOAT_VECTOR":
        position.data.foreach_get("vector", coords)
    else:
        mesh.vertices.foreach_get("co", coords)
    return coords


# -- GPU drawing -------------------------------------------------------------------

def offscreen(width: int, height: int) -> Any:
    """An offscreen buffer to draw the viewport into, through the `gpu` module (no `bgl`:
    removed in 5.0). A float texture reads back as a float Buffer, which an image takes in
    one C call. Needs a window's GL context: never call it in background mode."""
    import gpu

    return gpu.types.GPUOffScreen(width, height, format="RGBA16F")
