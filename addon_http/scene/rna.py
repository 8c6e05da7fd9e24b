"""search_api / describe_api: this Blender's own API, read from its RNA (bpy.types, their
properties, bpy.ops operators), so the answer matches the version in use. Main thread only."""

from __future__ import annotations

from typing import Any

import bpy

from .. import convert
from .lookup import not_found
from .rna_search import Entry, entry, ranked

# Types with the most properties make a long answer; a model rarely needs more.
MAX_LISTED_PROPERTIES = 80
_index: tuple[int, list[Entry]] | None = None


def search(query: str, limit: int) -> dict[str, Any]:
    """The best-matching types, properties and operators for a few words."""
    found = ranked(query, _entries(), limit)
    return {"query": query, "blender": bpy.app.version_string,
            "results": [_summary(item) for item in found]}


def describe(name: str) -> dict[str, Any]:
    """A type with its properties, one property, or an operator with its parameters."""
    clean = name.strip()
    if clean.startswith("bpy.ops.") or (clean.count(".") == 1 and clean.split(".")[0].islower()):
        return _operator(clean.removeprefix("bpy.ops."))
    clean = clean.removeprefix("bpy.types.")
    type_name, _, prop = clean.partition(".")
    rna = _type_rna(type_name)
    if prop:
        found = rna.properties.get(prop)
        if found is None:
            raise not_found(f"property of {type_name}", prop, rna.properties.keys())
        return {**_property(found), "kind": "property", "name": f"bpy.types.{type_name}.{prop}"}
    own = _own_properties(rna)
    return {"kind": "type", "name": f"bpy.types.{rna.identifier}", "title": rna.name,
            "description": rna.description, "base": rna.base.identifier if rna.base else None,
            "properties": [_property(p) for p in rna.properties if p.identifier != "rna_type"
                           ][:MAX_LISTED_PROPERTIES],
            "own_properties": own, "functions": [f.identifier for f in rna.functions]}


def _type_rna(name: str) -> Any:
    cls = getattr(bpy.types, name, None)
    rna = getattr(cls, "bl_rna", None)
    if rna is None:
        raise not_found("type in bpy.types", name, [n for n in dir(bpy.types) if not n.startswith("_")])
    return rna


def _operator(dotted: str) -> dict[str, Any]:
    module, _, op_name = dotted.partition(".")
    group = getattr(bpy.ops, module, None) if module and op_name else None
    if group is None or op_name not in dir(group):
        options = [f"{m}.{o}" for m in dir(bpy.ops) for o in dir(getattr(bpy.ops, m))]
        raise not_found("operator", dotted, options)
    rna = getattr(group, op_name).get_rna_type()
    params = [_property(p) for p in rna.properties if p.identifier != "rna_type"]
    call = ", ".join(f"{p['name']}={p['default']!r}" for p in params if "default" in p)
    return {"kind": "operator", "name": f"bpy.ops.{dotted}", "title": rna.name,
            "description": rna.description, "parameters": params, "call": f"bpy.ops.{dotted}({call})"}


def _property(prop: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": prop.identifier, "title": prop.name, "type": prop.type,
                           "description": prop.description}
    if getattr(prop, "is_readonly", False):
        out["readonly"] = True
    if prop.type in ("INT", "FLOAT", "BOOLEAN", "STRING", "ENUM"):
        out["default"] = _default(prop)
    if prop.type in ("INT", "FLOAT"):
        out["min"], out["max"] = convert.to_json(prop.hard_min), convert.to_json(prop.hard_max)
        out["soft_range"] = [convert.to_json(prop.soft_min), convert.to_json(prop.soft_max)]
    if prop.type == "ENUM":
        out["items"] = [{"id": i.identifier, "name": i.name, "description": i.description}
                        for i in prop.enum_items]
    if prop.type in ("POINTER", "COLLECTION") and prop.fixed_type is not None:
        out["fixed_type"] = prop.fixed_type.identifier
    if getattr(prop, "subtype", "NONE") not in ("NONE", ""):
        out["subtype"] = prop.subtype
    return out


def _default(prop: Any) -> Any:
    if prop.type == "ENUM":
        return sorted(prop.default_flag) if prop.is_enum_flag else prop.default
    if getattr(prop, "is_array", False) and prop.array_length > 0:
        return convert.to_json(list(prop.default_array))
    return convert.to_json(prop.default)


def _own_properties(rna: Any) -> list[str]:
    inherited = set(rna.base.properties.keys()) if rna.base is not None else set()
    return [p.identifier for p in rna.properties if p.identifier not in inherited | {"rna_type"}]


def _entries() -> list[Entry]:
    """Every type, own property and operator, built once (again if add-ons added types)."""
    global _index
    names = [n for n in dir(bpy.types) if not n.startswith("_")]
    if _index is not None and _index[0] == len(names):
        return _index[1]
    items: list[Entry] = []
    for name in names:
        rna = getattr(getattr(bpy.types, name), "bl_rna", None)
        if rna is None or rna.identifier != name:
            continue
        items.append(entry("type", name, rna.name, rna.description))
        own = _own_set(rna)
        for prop in rna.properties:
            if prop.identifier in own:
                items.append(entry("property", f"{name}.{prop.identifier}", prop.name, prop.description))
    for module in dir(bpy.ops):
        group = getattr(bpy.ops, module)
        for op_name in dir(group):
            rna = getattr(group, op_name).get_rna_type()
            items.append(entry("operator", f"bpy.ops.{module}.{op_name}", rna.name, rna.description))
    _index = (len(names), items)
    return items


def _own_set(rna: Any) -> set[str]:
    return set(_own_properties(rna))


def _summary(item: Entry) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": item.kind, "name": item.name, "title": item.title,
                           "description": item.description}
    if item.kind == "type":
        rna = _type_rna(item.name)
        own = _own_set(rna)
        out["name"] = f"bpy.types.{item.name}"
        out["properties"] = [{"name": p.identifier, "type": p.type, "description": p.description}
                             for p in rna.properties if p.identifier in own][:30]
    elif item.kind == "property":
        out["name"] = f"bpy.types.{item.name}"
    return out
