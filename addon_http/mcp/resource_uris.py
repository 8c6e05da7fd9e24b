"""How a work-folder file is named as an MCP resource: `blender-http://work/<path>`, the
path relative to the work folder with each segment percent-encoded (RFC 3986), and what
media type it is announced as."""

from __future__ import annotations

import mimetypes
import urllib.parse

PREFIX = "blender-http://work/"
# resources/templates/list: a client fills in a work-folder path (a "/" in it may come
# percent-encoded, as RFC 6570 writes {path}, or as it is: both name the same file).
TEMPLATE = PREFIX + "{path}"
# Media types the standard library does not know (model files of export_scene / import_file).
_TYPES = {".glb": "model/gltf-binary", ".gltf": "model/gltf+json", ".obj": "model/obj",
          ".stl": "model/stl", ".fbx": "application/octet-stream", ".usd": "model/vnd.usd",
          ".usda": "model/vnd.usda", ".usdc": "model/vnd.usd", ".ply": "application/octet-stream",
          ".blend": "application/x-blender", ".json": "application/json", ".npy": "application/x-npy"}


def uri(path: str) -> str:
    """The resource URI of a work-folder path such as 'renders/x.png'."""
    # A name that is not UTF-8 (a lone surrogate here) is written as its own bytes.
    return PREFIX + urllib.parse.quote(path, safe="/", errors="surrogateescape")


def path_of(name: str) -> str | None:
    """The work-folder path a resource URI names, or None when it names none of ours."""
    if not name.startswith(PREFIX):
        return None
    return urllib.parse.unquote(name[len(PREFIX):], errors="surrogateescape")


def mime_type(path: str) -> str:
    suffix = path[path.rfind("."):].lower() if "." in path.rsplit("/", 1)[-1] else ""
    return _TYPES.get(suffix) or mimetypes.guess_type("x" + suffix)[0] or "application/octet-stream"


def link(path: str, size: int, description: str) -> dict[str, object]:
    """resource_link content for a work-folder file (protocol 2025-06-18 and later)."""
    return {"type": "resource_link", "uri": uri(path), "name": path, "description": description,
            "mimeType": mime_type(path), "size": size}
