"""Turn any Python value into JSON-safe data; conversion never fails a request.

Rules (documented in docs/API.md, "Results"):
- None, bool, int, str pass through; floats too, except NaN and +-inf, which become
  null (JSON has no spelling for them and most parsers reject the non-standard ones).
- list, tuple, set, frozenset, generators are not touched (they may be endless): lists,
  sets sorted when their items allow it so answers are stable.
- dict keys become strings.
- mathutils Vector, Color, Euler, Quaternion -> list; Matrix -> list of rows.
- bpy_prop_array -> list; bpy_prop_collection -> list of its items.
- an ID datablock -> {"$id": "Object", "name": "Cube"} (plus "library" when linked).
- bytes, bytearray, memoryview -> {"$bytes": "<base64>"}.
- numpy arrays -> nested lists; numpy scalars -> Python numbers. An array of bools, ints or
  floats with BULK_TEXT_ITEMS items or more is written as JSON text by numpy at once
  (numpy_json.py; held as a json_text.RawJSON), its floats in their shortest digits.
- anything else (or anything whose conversion raised) -> {"$repr": "..."}.
Blender types are recognised through an already-imported bpy/mathutils (or by type
name), so this module imports and unit-tests without Blender.
"""

from __future__ import annotations

import base64
import json
import math
import sys
from typing import Any

from .json_text import RawJSON

MAX_DEPTH = 64
MAX_REPR = 2000
# From this size on, arrays go to numpy_json: below it, tolist() is about as fast and the
# value stays plain lists (e.g. for an MCP client reading a small result).
BULK_TEXT_ITEMS = 1024


def to_json(value: Any) -> Any:
    """A JSON-serialisable copy of value, following the rules in the module docstring."""
    return _convert(value, 0, set())


def _convert(value: Any, depth: int, seen: set[int]) -> Any:
    if value is None or value is True or value is False or type(value) is str:
        return value
    if type(value) is int:
        return value if value.bit_length() < _INT_BITS_SAFE else _big_int(value)
    if type(value) is float:
        return value if math.isfinite(value) else None
    if depth >= MAX_DEPTH:
        return _repr(value)
    try:
        return _convert_container(value, depth, seen)
    except Exception:  # a broken __iter__/__repr__ of user objects must not fail the request
        return _repr(value)


def _convert_container(value: Any, depth: int, seen: set[int]) -> Any:
    kind = type(value)
    if kind is dict or isinstance(value, dict):
        with _guard(value, seen):
            return {_key(k): _convert(v, depth + 1, seen) for k, v in value.items()}
    if kind in (list, tuple) or isinstance(value, (list, tuple)):
        with _guard(value, seen):
            return [_convert(v, depth + 1, seen) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [_convert(v, depth + 1, seen) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return _convert(int(value), depth, seen)
    if isinstance(value, float):
        return _convert(float(value), depth, seen)
    if isinstance(value, str):
        return str(value)
    name = kind.__name__
    mathutils = sys.modules.get("mathutils")
    if mathutils is not None:
        if isinstance(value, (mathutils.Vector, mathutils.Color, mathutils.Euler, mathutils.Quaternion)):
            return [_convert(float(v), depth + 1, seen) for v in value]
        if isinstance(value, mathutils.Matrix):
            return [[_convert(float(v), depth + 2, seen) for v in row] for row in value]
    if kind.__module__ == "numpy":
        return _numpy(value, depth, seen)
    id_ref = _blender_id(value)
    if id_ref is not None:
        return id_ref
    if name == "bpy_prop_array":
        return [_convert(v, depth + 1, seen) for v in value]
    if name == "bpy_prop_collection":
        return [_convert(v, depth + 1, seen) for v in value.values()]
    return _repr(value)


# dtype kinds whose tolist() is JSON-ready as it is: bool, int, unsigned int, str.
_PLAIN_KINDS = frozenset("biuU")


def _numpy(value: Any, depth: int, seen: set[int]) -> Any:
    dtype = getattr(value, "dtype", None)
    if getattr(value, "size", 0) >= BULK_TEXT_ITEMS and getattr(value, "ndim", 0):
        from . import numpy_json  # here: numpy is importable, as a numpy value exists

        text = numpy_json.array_text(value)
        if text is not None:
            return RawJSON(text)
    if getattr(value, "ndim", 0) and dtype is not None and dtype.names is None:
        # numpy builds the nested lists in C; only floats need a look, and only where
        # numpy finds a NaN or an infinity (about 100x faster than the walk below).
        if dtype.kind in _PLAIN_KINDS:
            return value.tolist()
        if dtype.kind == "f" and dtype.itemsize <= 8:
            return _floats(value)
    if hasattr(value, "tolist"):
        # tolist gives Python scalars; a second pass maps NaN/inf and odd dtypes.
        return _convert(value.tolist(), depth, seen)
    return _repr(value)


def _floats(array: Any) -> Any:
    numpy = sys.modules["numpy"]
    finite = numpy.isfinite(array)
    if finite.all():
        return array.tolist()
    # Python floats where finite, None elsewhere; the nested lists again built by numpy.
    mixed = array.astype(object)
    mixed[~finite] = None
    return mixed.tolist()


def _blender_id(value: Any) -> dict[str, Any] | None:
    bpy = sys.modules.get("bpy")
    types = getattr(bpy, "types", None)
    id_type = getattr(types, "ID", None)
    if id_type is None or not isinstance(value, id_type):
        return None
    ref: dict[str, Any] = {"$id": type(value).__name__, "name": value.name}
    library = getattr(value, "library", None)
    if library is not None:
        ref["library"] = library.filepath
    return ref


# Ints this small always print; larger ones may pass sys.get_int_max_str_digits().
_INT_BITS_SAFE = 4000


def _big_int(value: int) -> Any:
    try:
        str(value)
    except ValueError:  # more digits than json.dumps may write
        return {"$repr": f"<int of {value.bit_length()} bits>"}
    return value


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    converted = to_json(key)
    return converted if isinstance(converted, str) else _json_text(converted)


def _json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _repr(value: Any) -> dict[str, str]:
    try:
        text = repr(value)
    except Exception as exc:  # repr itself may raise on broken objects
        text = f"<{type(value).__qualname__} (repr failed: {type(exc).__name__})>"
    if len(text) > MAX_REPR:
        text = text[:MAX_REPR] + "..."
    return {"$repr": text}


class _guard:
    """Turns a self-containing list or dict into a $repr instead of endless recursion."""

    __slots__ = ("key", "seen")

    def __init__(self, value: Any, seen: set[int]) -> None:
        self.key = id(value)
        self.seen = seen

    def __enter__(self) -> None:
        if self.key in self.seen:
            raise _Cycle
        self.seen.add(self.key)

    def __exit__(self, *exc: object) -> None:
        self.seen.discard(self.key)


class _Cycle(Exception):
    pass


def binary_payload(value: Any) -> tuple[bytes, dict[str, str]] | None:
    """Raw bytes and describing headers for bytes-like or numpy results, else None."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        return data, {"X-Result-Dtype": "uint8", "X-Result-Shape": str(len(data))}
    if type(value).__module__ == "numpy" and hasattr(value, "tobytes") and hasattr(value, "dtype"):
        shape = ",".join(str(n) for n in getattr(value, "shape", ()))
        dtype = value.dtype
        if dtype.hasobject:
            return None
        data = value.tobytes(order="C")
        return data, {"X-Result-Dtype": dtype.str, "X-Result-Shape": shape}
    return None
