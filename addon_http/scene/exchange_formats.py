"""The file formats of /export and /import: names, extensions, media types, and turning a
glTF with side files into one self-contained .gltf."""

from __future__ import annotations

import base64
import dataclasses
import json
import mimetypes
import os
from urllib.parse import unquote

from ..errors import HttpError


@dataclasses.dataclass(frozen=True)
class Format:
    name: str
    extension: str
    content_type: str


EXPORT_FORMATS = {f.name: f for f in (
    Format("glb", ".glb", "model/gltf-binary"),
    Format("gltf", ".gltf", "model/gltf+json"),
    Format("obj", ".obj", "model/obj"),
    Format("fbx", ".fbx", "application/octet-stream"),
    Format("stl", ".stl", "model/stl"),
    Format("ply", ".ply", "application/octet-stream"),
    Format("usd", ".usd", "application/octet-stream"),
)}

# What an uploaded file's extension says about its format.
IMPORT_EXTENSIONS = {
    ".glb": "glb", ".gltf": "gltf", ".obj": "obj", ".fbx": "fbx", ".stl": "stl", ".ply": "ply",
    ".usd": "usd", ".usda": "usd", ".usdc": "usd", ".usdz": "usd",
}
IMPORT_FORMATS = tuple(EXPORT_FORMATS)


def export_format(name: str | None) -> Format:
    """The export format for ?format=, or 400 naming the valid ones."""
    if not name:
        raise HttpError(400, f"?format= is required: one of {', '.join(EXPORT_FORMATS)}")
    found = EXPORT_FORMATS.get(name.lower())
    if found is None:
        raise HttpError(400, f"unknown format {name!r}; use one of {', '.join(EXPORT_FORMATS)}")
    return found


def import_format(name: str | None, filename: str | None) -> tuple[str, str]:
    """(format, file extension) from ?format= or the extension of ?filename=; 400 otherwise."""
    valid = ", ".join(IMPORT_FORMATS)
    extension = os.path.splitext(filename or "")[1].lower()
    if name:
        name = name.lower()
        if name not in IMPORT_FORMATS:
            raise HttpError(400, f"unknown format {name!r}; use one of {valid}")
        if IMPORT_EXTENSIONS.get(extension) != name:  # the importer may go by extension
            extension = EXPORT_FORMATS[name].extension
        return name, extension
    if not filename:
        raise HttpError(400, f"give ?format= (one of {valid}) or ?filename= with its extension")
    found = IMPORT_EXTENSIONS.get(extension)
    if found is None:
        raise HttpError(400, f"cannot tell the format of {filename!r}; give ?format= (one of {valid})")
    return found, extension


def parse_names(raw: str | None) -> list[str] | None:
    """?objects=Cube,Light as a list; None for the whole scene."""
    if raw is None or not raw.strip():
        return None
    return [name.strip() for name in raw.split(",") if name.strip()]


def embed_gltf(path: str) -> bytes:
    """The .gltf at path with every buffer and image it refers to by file inlined as a
    data: URI, so one file holds the whole scene."""
    folder = os.path.dirname(path)
    with open(path, "rb") as handle:
        document = json.load(handle)
    for key in ("buffers", "images"):
        for item in document.get(key, []):
            uri = item.get("uri")
            if not uri or uri.startswith("data:"):
                continue
            side = os.path.realpath(os.path.join(folder, unquote(uri)))
            if os.path.dirname(side) != os.path.realpath(folder):
                raise ValueError(f"the exporter referred to a file outside its folder: {uri!r}")
            with open(side, "rb") as handle:
                data = base64.b64encode(handle.read()).decode("ascii")
            media = ("application/octet-stream" if key == "buffers"
                     else item.get("mimeType") or mimetypes.guess_type(side)[0] or "image/png")
            item["uri"] = f"data:{media};base64,{data}"
    return json.dumps(document, separators=(",", ":")).encode("utf-8")
