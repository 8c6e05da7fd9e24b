"""The output schemas of the tools whose answers have a fixed shape (their `outputSchema`,
pure data). A typed tool's `structuredContent` is the very JSON of its text (results.finish),
so each schema also admits what the budget does to an answer (budget.py): a cut answer
begins with a "cut" note, a list may end with a "[cut here: ...]" marker item, an object
may name its left-out members in "[cut]", and members may be missing. A whole answer has
every member its schema requires; a cut one has "cut" instead."""

from __future__ import annotations

from typing import Any

from .budget import NOTE_KEY

_NUMBER = {"type": ["number", "null"], "description": "null for NaN or an infinity"}
_VECTOR = {"type": "array", "items": _NUMBER, "minItems": 3, "maxItems": 3}
_NAME = {"type": ["string", "null"]}
_NAMES = {"type": "array", "items": {"type": "string"}}
# What the budget leaves where it cut: an item at the end of a list, a member of an object.
_MARKER = {"type": "string", "pattern": r"^\[cut here: "}
_LEFT_OUT = "[cut]"
_NOTE = {"type": "object", "description": "Present when the answer was cut to max_chars: where the "
                                          "whole answer is (read_file pages it).",
         "properties": {"file": {"type": "string"}, "bytes": {"type": "integer"},
                        "chars": {"type": "integer"}, "read": {"type": "string"}},
         "required": ["file", "bytes", "chars", "read"]}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    """An object inside an answer: these members, any of them left out when cut."""
    return {"type": "object", "properties": {**properties, _LEFT_OUT: _MARKER}, "additionalProperties": False}


def _list(items: dict[str, Any]) -> dict[str, Any]:
    """A list of items, which a cut ends with a marker."""
    return {"type": "array", "items": {"anyOf": [items, _MARKER]}}


def _answer(properties: dict[str, Any], required: tuple[str, ...]) -> dict[str, Any]:
    """A whole answer has every required member; a cut one begins with the note instead."""
    return {"type": "object",
            "properties": {NOTE_KEY: _NOTE, **properties, _LEFT_OUT: _MARKER},
            "additionalProperties": False,
            "anyOf": [{"required": list(required)}, {"required": [NOTE_KEY]}]}


def _whole(properties: dict[str, Any], *optional: str) -> dict[str, Any]:
    return _answer(properties, tuple(name for name in properties if name not in optional))


_RENDER = {"engine": {"type": "string"},
           "resolution": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2},
           "percentage": {"type": "integer"}}
_SUMMARY = {
    "name": {"type": "string"},
    "type": {"type": "string", "description": "MESH, CAMERA, LIGHT, EMPTY, ..."},
    "location": _VECTOR, "rotation": _VECTOR, "scale": _VECTOR, "dimensions": _VECTOR,
    "parent": _NAME,
    "collections": _NAMES,
    "visible": {"type": "boolean"},
    "hide_viewport": {"type": "boolean"},
    "hide_render": {"type": "boolean"},
    "materials": _NAMES,
}
_COUNT = {"type": "integer", "minimum": 0}

BLENDER_INFO = _whole({
    "mode": {"type": "string", "enum": ["gui", "background", "module"]},
    "version": {"type": "string"},
    "version_tuple": {"type": "array", "items": {"type": "integer"}, "minItems": 3, "maxItems": 3},
    "background": {"type": "boolean"},
    "object_mode": {"type": "string"},
    "file": _NAME,
    "unsaved_changes": {"type": "boolean"},
    "scene": {"type": "string"},
    "scenes": _NAMES,
    "objects": _COUNT,
    "engines": _NAMES,
    "render": _object({**_RENDER, "fps": _NUMBER,
                       "frame_range": {"type": "array", "items": {"type": "integer"}, "minItems": 2,
                                       "maxItems": 2},
                       "output": {"type": "string"}}),
})

GET_SCENE = _whole({
    "ok": {"const": True},
    "name": {"type": "string"},
    "frame": _object({"start": {"type": "integer"}, "end": {"type": "integer"},
                      "current": {"type": "integer"}, "fps": _NUMBER}),
    "render": _object({**_RENDER, "engines": _NAMES}),
    "camera": _NAME,
    "total": _COUNT,
    "offset": _COUNT,
    "limit": _COUNT,
    "objects": _list(_object(_SUMMARY)),
    "next_offset": {"type": ["integer", "null"], "description": "offset of the next page; null on the last"},
})

GET_OBJECT = _whole({
    "ok": {"const": True},
    "object": _object({
        **_SUMMARY,
        "data": _NAME,
        "matrix_world": {"type": "array", "items": {"type": "array", "items": _NUMBER}},
        "children": _NAMES,
        "modifiers": _list(_object({"name": {"type": "string"}, "type": {"type": "string"},
                                    "show_viewport": {"type": "boolean"},
                                    "show_render": {"type": "boolean"}})),
        "material_slots": _list(_object({"name": {"type": "string"}, "material": _NAME,
                                         "link": {"type": "string"}})),
        "mesh": {"anyOf": [{"type": "null"},
                           _object({"vertices": _COUNT, "edges": _COUNT, "polygons": _COUNT,
                                    "loops": _COUNT})]},
        "custom_properties": {"type": "object"},
    }),
})

GET_CONTEXT = _whole({
    "mode": {"type": "string", "description": "OBJECT, EDIT_MESH, SCULPT, ..."},
    "scene": {"type": "string"},
    "view_layer": {"type": "string"},
    "active_object": _NAME,
    "active_object_type": _NAME,
    "selected_objects": _NAMES,
    "camera": _NAME,
    "frame": {"type": "integer"},
    "frame_range": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2},
    "workspace": _NAME,
})

_TIME = {"type": ["number", "null"], "description": "seconds since the epoch; null until then"}
GET_JOB = _whole({
    "id": {"type": "string"},
    "status": {"type": "string",
               "enum": ["queued", "running", "succeeded", "failed", "cancelled", "timed_out"]},
    "session": _NAME,
    "task": _NAME,
    "created_at": _TIME,
    "started_at": _TIME,
    "finished_at": _TIME,
    "stop_requested": {"type": "string", "description": "why the job was asked to stop, while it has not"},
    "envelope": {"type": "object", "description": "once finished: ok, result or error, stdout, stderr, "
                                                  "duration_ms (as exec_python answers)"},
}, "stop_requested", "envelope")

_MAYBE_COUNT = {"type": ["integer", "null"], "minimum": 0}
_COUNTS = {"vertices": _COUNT, "edges": _COUNT, "polygons": _COUNT}
# inspect's answer (scene/inspection.py).
INSPECT = _whole({
    "ok": {"const": True},
    "scene": {"type": "string"},
    "file": {"type": ["string", "null"], "description": "The open .blend (null: never saved)."},
    "missing_files": _list(_object({"type": {"type": "string"}, "name": {"type": "string"},
                                    "path": {"type": "string"}, "absolute": {"type": "string"}})),
    "missing_files_total": _COUNT,
    "libraries": _list(_object({"name": {"type": "string"}, "path": {"type": "string"},
                                "missing": {"type": "boolean"}, "objects": _COUNT})),
    "libraries_total": _COUNT,
    "total": _COUNT,
    "offset": _COUNT,
    "limit": _COUNT,
    "objects": _list(_object({
        "name": {"type": "string"},
        "type": {"type": "string"},
        "bounds": {"anyOf": [{"type": "null"}, _object({"min": _VECTOR, "max": _VECTOR, "size": _VECTOR})],
                   "description": "World bounding box; null for objects without geometry."},
        "scale": _VECTOR,
        "unapplied_scale": {"type": "boolean"},
        "modifiers": _NAMES,
        "mesh": {"anyOf": [{"type": "null"}, _object(_COUNTS)]},
        "evaluated": {"anyOf": [{"type": "null"}, _object({
            **_COUNTS, "triangles": _COUNT, "non_manifold_edges": _MAYBE_COUNT,
            "zero_area_faces": _MAYBE_COUNT, "not_checked": {"type": "string"}})],
            "description": "After modifiers."},
        "issues": _NAMES,
    })),
    "next_offset": {"type": ["integer", "null"], "description": "offset of the next page; null on the last"},
})
