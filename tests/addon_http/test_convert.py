"""convert.to_json and convert.binary_payload: any value becomes JSON-safe data."""

from __future__ import annotations

import array
import base64
import json
import math
from typing import Any

import numpy as np
import pytest

from blender_http_addon import json_text
from blender_http_addon.convert import BULK_TEXT_ITEMS, MAX_DEPTH, MAX_REPR, binary_payload, to_json


def roundtrip(value: Any) -> Any:
    """to_json, then what a strict JSON reader reads from the answer's text."""
    return json.loads(json_text.dumps(to_json(value)), parse_constant=_not_json)


def _not_json(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


@pytest.mark.parametrize("value", [None, True, False, 0, -7, 2**70, 1.5, "", "text", "é\u2603"])
def test_primitives_pass_through(value: Any) -> None:
    converted = roundtrip(value)
    assert converted == value
    assert type(converted) is type(value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_become_null(value: float) -> None:
    assert roundtrip(value) is None


def test_nested_containers() -> None:
    value = {"a": [1, (2, 3), {"b": {4}}], "c": (None, [math.nan])}
    assert roundtrip(value) == {"a": [1, [2, 3], {"b": [4]}], "c": [None, [None]]}


def test_sets_are_sorted_lists_when_their_items_allow() -> None:
    assert roundtrip({3, 1, 2}) == [1, 2, 3]
    assert roundtrip(frozenset({"b", "a"})) == ["a", "b"]
    mixed = roundtrip({1, "a"})
    assert sorted(mixed, key=str) == [1, "a"]


def test_non_str_dict_keys_become_strings() -> None:
    converted = roundtrip({1: "int", (1, 2): "tuple", None: "none", 2.5: "float", "s": "str"})
    assert converted == {"1": "int", "[1,2]": "tuple", "null": "none", "2.5": "float", "s": "str"}


def test_subclasses_of_builtins() -> None:
    class Name(str):
        pass

    class Count(int):
        pass

    converted = roundtrip({"name": Name("x"), "count": Count(3), "big": 1e308 * 10})
    assert converted == {"name": "x", "count": 3, "big": None}
    assert type(converted["name"]) is str and type(converted["count"]) is int


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_bytes_become_base64(kind: type) -> None:
    data = bytes(range(256))
    assert roundtrip(kind(data)) == {"$bytes": base64.b64encode(data).decode("ascii")}


def test_self_referencing_list_does_not_crash() -> None:
    value: list[Any] = [1]
    value.append(value)
    converted = roundtrip(value)
    assert converted[0] == 1
    assert "$repr" in converted[1]


def test_self_referencing_dict_does_not_crash() -> None:
    value: dict[str, Any] = {}
    value["me"] = value
    assert "$repr" in roundtrip(value)["me"]


def test_shared_but_acyclic_values_are_converted_each_time() -> None:
    shared = [1, 2]
    assert roundtrip([shared, shared]) == [[1, 2], [1, 2]]


def test_other_objects_become_repr() -> None:
    class Thing:
        def __repr__(self) -> str:
            return "<Thing>"

    assert roundtrip(Thing()) == {"$repr": "<Thing>"}
    assert roundtrip(1 + 2j) == {"$repr": "(1+2j)"}
    assert "$repr" in roundtrip(x for x in range(3))  # generators may be endless: not consumed


def test_repr_is_capped() -> None:
    class Long:
        def __repr__(self) -> str:
            return "x" * (MAX_REPR * 3)

    text = roundtrip(Long())["$repr"]
    assert text.startswith("x" * 100)
    assert len(text) <= MAX_REPR + 10


def test_object_whose_repr_raises() -> None:
    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    converted = roundtrip(Broken())
    assert "repr failed" in converted["$repr"]
    assert "Broken" in converted["$repr"]


def test_object_whose_iter_raises() -> None:
    class BadList(list):
        def __iter__(self) -> Any:
            raise RuntimeError("no iteration")

    converted = roundtrip({"v": BadList([1, 2])})
    assert "$repr" in converted["v"]


def test_dict_whose_items_raise() -> None:
    class BadDict(dict):
        def items(self) -> Any:
            raise RuntimeError("no items")

    assert "$repr" in roundtrip(BadDict(a=1))


def test_numpy_arrays_become_nested_lists() -> None:
    assert roundtrip(np.arange(6).reshape(2, 3)) == [[0, 1, 2], [3, 4, 5]]
    assert roundtrip(np.array([1.5, np.nan, np.inf, -np.inf])) == [1.5, None, None, None]
    assert roundtrip(np.array([[np.nan]], dtype=np.float32)) == [[None]]
    assert roundtrip(np.array(2.5)) == 2.5
    assert roundtrip(np.array([True, False])) == [True, False]


def test_large_numpy_arrays_become_json_text_written_by_numpy() -> None:
    floats = np.linspace(-1, 1, BULK_TEXT_ITEMS * 3, dtype=np.float32).reshape(-1, 3)
    floats[0, 0] = np.float32(0.1)
    floats[1, 1] = np.nan
    converted = to_json(floats)
    assert isinstance(converted, json_text.RawJSON)
    assert converted.text.startswith("[[0.1,")  # the float32's shortest digits
    read = np.array(json.loads(converted.text.replace("null", "NaN")), dtype=np.float32)
    np.testing.assert_array_equal(read, floats)
    assert roundtrip({"v": np.arange(BULK_TEXT_ITEMS)}) == {"v": list(range(BULK_TEXT_ITEMS))}
    assert isinstance(to_json(np.arange(BULK_TEXT_ITEMS - 1)), list)  # small ones stay lists


def test_large_arrays_numpy_does_not_write_are_converted_the_other_way() -> None:
    values = np.random.default_rng(3).random(BULK_TEXT_ITEMS)  # 17 digits each: repr's job
    assert to_json(values) == values.tolist()
    assert to_json(np.full(BULK_TEXT_ITEMS, 1 + 2j))[0] == {"$repr": "(1+2j)"}


@pytest.mark.parametrize(("scalar", "expected"), [
    (np.float64(1.5), 1.5), (np.float32(0.5), 0.5), (np.int64(7), 7), (np.uint8(255), 255),
    (np.int32(-3), -3), (np.bool_(True), True), (np.float64("nan"), None), (np.float32("inf"), None),
])
def test_numpy_scalars_become_python_numbers(scalar: Any, expected: Any) -> None:
    converted = roundtrip(scalar)
    assert converted == expected
    if expected is not None:
        assert type(converted) is type(expected)


def test_numpy_inside_containers() -> None:
    assert roundtrip({"v": np.zeros(2), "n": [np.int16(1)]}) == {"v": [0.0, 0.0], "n": [1]}


def test_deep_nesting_is_cut_with_a_repr() -> None:
    value: list[Any] = []
    innermost = value
    for _ in range(MAX_DEPTH * 2):
        nxt: list[Any] = []
        innermost.append(nxt)
        innermost = nxt
    converted = roundtrip(value)
    depth = 0
    while isinstance(converted, list):
        converted = converted[0]
        depth += 1
    assert "$repr" in converted
    assert depth <= MAX_DEPTH


def test_very_deep_nesting_beyond_the_recursion_limit() -> None:
    value: list[Any] = []
    for _ in range(100_000):
        value = [value]
    converted = roundtrip(value)
    assert isinstance(converted, list)


def test_huge_int_still_serialises() -> None:
    roundtrip(10**5000)


# -- binary_payload --------------------------------------------------------------------

def payload(value: Any) -> tuple[bytes, dict[str, str]]:
    found = binary_payload(value)
    assert found is not None
    return found


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_binary_payload_of_bytes(kind: type) -> None:
    payload = binary_payload(kind(b"\x00\x01\x02"))
    assert payload == (b"\x00\x01\x02", {"X-Result-Dtype": "uint8", "X-Result-Shape": "3"})


def test_binary_payload_of_numpy_array() -> None:
    value = np.arange(6, dtype=np.float32).reshape(2, 3)
    data, headers = payload(value)
    assert headers == {"X-Result-Dtype": "<f4", "X-Result-Shape": "2,3"}
    assert np.frombuffer(data, dtype="<f4").reshape(2, 3).tolist() == value.tolist()


def test_binary_payload_of_fortran_ordered_array_is_c_order() -> None:
    value = np.asfortranarray(np.arange(6, dtype=np.int16).reshape(2, 3))
    data, headers = payload(value)
    assert headers["X-Result-Shape"] == "2,3"
    assert np.frombuffer(data, dtype=headers["X-Result-Dtype"]).reshape(2, 3).tolist() == value.tolist()


@pytest.mark.parametrize("value", [None, 1, 1.5, "text", [1, 2], {"a": 1},
                                   np.array([object()], dtype=object)])
def test_binary_payload_is_none_for_other_values(value: Any) -> None:
    assert binary_payload(value) is None


def test_binary_payload_shape_counts_bytes_of_a_wide_memoryview() -> None:
    data, headers = payload(memoryview(array.array("i", [1, 2, 3])))
    assert headers["X-Result-Dtype"] == "uint8"
    assert headers["X-Result-Shape"] == str(len(data))
