"""Large arrays and lists as a model wants to see them: what they are and how they begin,
not every item (MCP's exec_python without full=true).

`summarise(value, items)` walks a result before convert.to_json turns it into JSON and
replaces, wherever they are nested:
- a numpy array of more than `items` elements by
  {"$array": {"shape", "dtype", "min", "max", "mean", "nan", "first"}}: min, max and mean
  of bool and number arrays (NaN left out; "nan" counts them when there are any), "first"
  the first rows (at most SHOWN_ROWS, at most SHOWN_ITEMS numbers), or the first
  SHOWN_ITEMS elements in order ("first_flat") when one row alone has more;
- a list, tuple, set or Blender collection (bpy_prop_collection, bpy_prop_array) of more
  than `items` items by {"$list": {"type", "length", "first"}} (its first SHOWN_ROWS items,
  themselves summarised).
Anything else is left as it is. Standard library only: numpy is used through the arrays
it finds.
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any

SHOWN_ROWS = 10
SHOWN_ITEMS = 100
MAX_DEPTH = 64
_SEQUENCES = ("bpy_prop_collection", "bpy_prop_array")


class Summariser:
    """One walk; `count` says how many values it summarised."""

    def __init__(self, items: int) -> None:
        self.items = items
        self.count = 0
        self._path: set[int] = set()

    def walk(self, value: Any, depth: int = 0) -> Any:
        kind = type(value)
        if value is None or kind in (bool, int, float, str, bytes) or depth >= MAX_DEPTH:
            return value
        try:
            return self._container(value, kind, depth)
        except Exception:  # a broken __len__ or __iter__ of a user's object: convert's business
            return value

    def _container(self, value: Any, kind: type, depth: int) -> Any:
        if kind.__module__ == "numpy" and hasattr(value, "shape") and hasattr(value, "dtype"):
            if getattr(value, "ndim", 0) and value.size > self.items:
                self.count += 1
                return {"$array": _array(value)}
            return value
        if id(value) in self._path:  # a cycle: convert writes it as a $repr
            return value
        if isinstance(value, dict):
            self._path.add(id(value))
            try:
                return {key: self.walk(item, depth + 1) for key, item in value.items()}
            finally:
                self._path.discard(id(value))
        sequence = isinstance(value, (list, tuple, set, frozenset)) or kind.__name__ in _SEQUENCES
        if not sequence:
            return value
        length = len(value)
        self._path.add(id(value))
        try:
            if length > self.items:
                self.count += 1
                first = [self.walk(item, depth + 2) for item in itertools.islice(value, SHOWN_ROWS)]
                return {"$list": {"type": kind.__name__, "length": length, "first": first}}
            if isinstance(value, (set, frozenset)) or kind.__name__ in _SEQUENCES:
                return value  # small: convert handles it (sorts sets, reads collections)
            return [self.walk(item, depth + 1) for item in value]
        finally:
            self._path.discard(id(value))


def summarise(value: Any, items: int) -> tuple[Any, int]:
    """value with its large arrays and lists summarised, and how many were."""
    summariser = Summariser(items)
    return summariser.walk(value), summariser.count


def _array(array: Any) -> dict[str, Any]:
    import numpy as np  # an array exists, so numpy does

    out: dict[str, Any] = {"shape": list(array.shape), "dtype": str(array.dtype)}
    if array.dtype.names is None and array.dtype.kind in "biuf":
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            numbers = array.astype(np.int8) if array.dtype.kind == "b" else array
            if array.dtype.kind == "f":
                low, high, mean = np.nanmin(numbers), np.nanmax(numbers), np.nanmean(numbers)
                nan = int(np.count_nonzero(np.isnan(numbers)))
            else:
                low, high, mean, nan = numbers.min(), numbers.max(), numbers.mean(dtype=np.float64), 0
        out["min"], out["max"] = _number(low), _number(high)
        out["mean"] = _number(mean)
        if nan:
            out["nan"] = nan
    row = math.prod(array.shape[1:])
    if row <= SHOWN_ITEMS:
        out["first"] = array[:max(1, min(SHOWN_ROWS, SHOWN_ITEMS // max(row, 1)))]
    else:
        out["first_flat"] = array.flat[:SHOWN_ITEMS]
    return out


def _number(value: Any) -> Any:
    number = value.item()
    return None if isinstance(number, float) and not math.isfinite(number) else number
