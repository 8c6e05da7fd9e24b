"""numpy_json.array_text: the JSON text numpy writes for a whole array, checked against
what json.dumps writes for the same values and what a JSON reader reads back."""

from __future__ import annotations

import json
from typing import Any, Literal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from blender_http_addon import numpy_json
from blender_http_addon.numpy_json import array_text


def reference(array: np.ndarray) -> str:
    """json.dumps of the values, with NaN and infinities as null (convert's rule)."""
    def clean(value: Any) -> Any:
        if isinstance(value, list):
            return [clean(v) for v in value]
        return None if isinstance(value, float) and not np.isfinite(value) else value
    return json.dumps(clean(array.tolist()), separators=(",", ":"))


def shortest(value: np.floating) -> str:
    """What repr writes for the float that numpy's shortest digits of value read as."""
    return repr(float(str(value))) if np.isfinite(value) else "null"


shapes = hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=6)


@pytest.fixture(autouse=True)
def small_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    # Slices of a few elements: every boundary case (a row split between slices, a slice
    # holding only a row's end) turns up in small arrays.
    monkeypatch.setattr(numpy_json, "CHUNK", 7)


@given(hnp.arrays(st.sampled_from([np.int8, np.uint8, np.int16, np.int32, np.int64, np.uint32,
                                   np.uint64, np.bool_]), shapes))
def test_integers_and_bools_as_json_dumps_writes_them(array: np.ndarray) -> None:
    assert array_text(array) == reference(array)


@given(hnp.arrays(np.float64, shapes, elements=st.floats(allow_subnormal=True)))
def test_float64_as_json_dumps_writes_them(array: np.ndarray) -> None:
    text = array_text(array)
    # None: the sample found mostly 17-digit values, left to tolist() by the caller.
    assert text is None or text == reference(array)


@given(hnp.arrays(np.float64, shapes, elements=st.decimals(-10**6, 10**6, places=4).map(float)))
def test_float64_with_short_decimals_are_written_in_bulk(array: np.ndarray) -> None:
    assert array_text(array) == reference(array)


NARROW: tuple[tuple[type, Literal[16, 32]], ...] = ((np.float32, 32), (np.float16, 16))
narrow_floats = st.one_of(*(hnp.arrays(dtype, shapes, elements=st.floats(width=width, allow_subnormal=True))
                            for dtype, width in NARROW))


@settings(max_examples=300)
@given(narrow_floats)
def test_narrow_floats_in_their_shortest_digits(array: np.ndarray) -> None:
    text = array_text(array)
    assert text is not None
    read = np.array(json.loads(text.replace("null", "NaN")), dtype=array.dtype).reshape(array.shape)
    finite = np.isfinite(array)
    # Every finite value reads back as itself, -0.0 included; the others are null.
    np.testing.assert_array_equal(read[finite], array[finite])
    assert (np.signbit(read[finite]) == np.signbit(array[finite])).all()
    assert np.isnan(read[~finite]).all()
    words = text.replace("[", "").replace("]", "").split(",") if array.size else []
    assert words == [shortest(v) for v in array.reshape(-1)]


def test_float32_vertices() -> None:
    vertices = np.random.default_rng(7).random((5000, 3), dtype=np.float32) * 20 - 10
    vertices[0] = (0.1, -0.0, 1e-45)
    vertices[1] = (np.inf, 3.4028235e38, 1.5e16)
    text = array_text(vertices)
    assert text is not None
    assert text.startswith("[[0.1,-0.0,1e-45],[null,3.4028235e+38,1.5e+16],[")
    assert text == "[" + ",".join("[" + ",".join(shortest(v) for v in row) + "]" for row in vertices) + "]"


@pytest.mark.parametrize(("shape", "text"), [
    ((0,), "[]"), ((2, 0, 3), "[[],[]]"), ((0, 3), "[]"), ((1, 2, 0), "[[[],[]]]"),
])
def test_empty_arrays(shape: tuple[int, ...], text: str) -> None:
    assert array_text(np.zeros(shape, np.float32)) == text == reference(np.zeros(shape))


def test_views_that_are_not_contiguous() -> None:
    grid = np.arange(60, dtype=np.int32).reshape(6, 10)
    for view in (grid.T, grid[::2, 1::3], grid[:, ::-1], np.asfortranarray(grid)):
        assert array_text(view) == reference(view)


@pytest.mark.parametrize("array", [
    np.zeros(3, complex), np.zeros(3, "U2"), np.array([None, 1], dtype=object),
    np.zeros(2, dtype=[("x", "f4")]), np.float32(1.5),
    pytest.param(np.zeros(3, np.longdouble), marks=pytest.mark.skipif(
        np.dtype(np.longdouble).itemsize == 8, reason="long double is a plain double here (Windows)")),
])
def test_arrays_it_does_not_write(array: Any) -> None:
    assert array_text(np.asarray(array)) is None
