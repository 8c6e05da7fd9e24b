"""Exporting the scene (or some objects) to a file and importing a file into it, with the
operators this Blender has (compat.py knows which, per version). Main thread only."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import bpy

from ..errors import HttpError
from . import compat
from .exchange_formats import Format, embed_gltf
from .lookup import not_found
from .state import kept_selection, select_only
from .written import check_export, incomplete, storage_error


def export_file(fmt: Format, names: list[str] | None, path: str) -> str:
    """Export the scene, or only the named objects, to path (a fresh folder's file)."""
    module, name, selection_keyword, fixed = compat.exporter(fmt.name)
    context = bpy.context
    view_layer = context.view_layer
    objects = [_scene_object(context.scene, n) for n in names] if names else None
    # A .gltf comes with side files: written apart, then inlined into path.
    written = path if fmt.name != "gltf" else os.path.join(os.path.dirname(path), "parts", "scene.gltf")
    os.makedirs(os.path.dirname(written), exist_ok=True)
    with kept_selection(view_layer):
        if objects is not None:
            select_only(view_layer, objects)
        keywords = {"filepath": written, selection_keyword: objects is not None, **fixed}
        _run(module, name, keywords, "export")
    if not os.path.isfile(written):
        error = incomplete(written, f"the {fmt.name} exporter wrote no file")
        raise error if error.status == 507 else HttpError(500, error.message, type="ExportError")
    if fmt.name == "gltf":
        try:
            with open(path, "wb") as out:
                out.write(embed_gltf(written))
        except OSError as exc:
            raise storage_error(exc, "writing the gltf file failed") from None
    check_export(path, fmt.name)  # exporters, like renders, may not notice a full disk
    return path


def import_file(format_name: str, path: str) -> list[str]:
    """Import the file at path; the names of the objects it created."""
    module, name = compat.importer(format_name)
    view_layer = bpy.context.view_layer
    before = set(bpy.data.objects)
    with kept_selection(view_layer):
        result = _run(module, name, {"filepath": path}, "import")
    created = sorted(obj.name for obj in set(bpy.data.objects) - before)
    if "FINISHED" not in result or not created:
        raise HttpError(400, f"the {format_name} importer found nothing to import in the file",
                        type="ImportError")
    return created


def _run(module: str, name: str, keywords: dict[str, Any], verb: str) -> set[str]:
    operator: Callable[..., set[str]] = getattr(getattr(bpy.ops, module), name)
    try:
        return operator(**keywords)
    except RuntimeError as exc:
        # The operator's own report, e.g. "Error: Cannot read file".
        message = str(exc).strip()
        if verb == "import":
            raise HttpError(400, f"the file could not be imported: {message}", type="ImportError") from None
        # An exporter stopped by a full disk says so only inside its traceback.
        full = incomplete(keywords["filepath"], "the export failed")
        if full.status == 507:
            raise full from None
        raise HttpError(500, f"the export failed: {message}", type="ExportError") from None


def _scene_object(scene: bpy.types.Scene, name: str) -> bpy.types.Object:
    obj = scene.objects.get(name)
    if obj is None:
        raise not_found("object", name, scene.objects.keys(), status=400)
    return obj
