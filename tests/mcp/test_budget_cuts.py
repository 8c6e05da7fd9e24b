"""How an answer over its budget is cut (mcp/budget.py) and how large arrays and lists are
summarised (summary.py), without Blender: the text fits, stays JSON, and says what went."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from blender_http_addon import convert, summary
from blender_http_addon.mcp import budget

PATH = "mcp-results/t.json"


def _fit(value: Any, max_chars: int) -> tuple[Any, str]:
    kept: list[str] = []

    def keep(text: str) -> tuple[str, int]:
        kept.append(text)
        return PATH, len(text.encode())

    text = budget.fit(value, max_chars, keep)
    assert len(text) <= max_chars
    if kept:
        assert json.loads(kept[0]) == json.loads(budget.dumps(value))
    return json.loads(text), text


def test_an_answer_within_its_budget_is_untouched() -> None:
    value = {"a": [1, 2, 3], "b": "x" * 100}
    assert _fit(value, 1000)[0] == value


@pytest.mark.parametrize("max_chars", [1000, 5000, 20000])
def test_every_shape_fits(max_chars: int) -> None:
    values = [
        {"stdout": "".join(f"line {i}\n" for i in range(50000)), "result": list(range(50000)), "job": "j"},
        {f"key{i}": "v" * i for i in range(3000)},
        {"result": convert.to_json(np.arange(300000, dtype=np.float32).reshape(-1, 3))},
        [{"name": f"n{i}", "tags": ["t"] * 50} for i in range(2000)],
        {"s": 'é"\\\x00\n' * 20000},
    ]
    for value in values:
        shown, _ = _fit(value, max_chars)
        assert shown["cut"]["file"] == PATH


def test_a_string_keeps_its_head_and_tail_at_lines() -> None:
    text = "".join(f"line {i:05d}\n" for i in range(20000))
    shown, _ = _fit({"stdout": text}, 3000)
    head, _, rest = shown["stdout"].partition("[cut here: ")
    assert head.startswith("line 00000\n") and head.endswith("\n")
    tail = rest.split("\n", 1)[1]
    assert tail.startswith("line ") and tail.endswith("line 19999\n")


def test_an_array_keeps_its_first_rows_and_names_the_file() -> None:
    shown, _ = _fit({"result": convert.to_json(np.arange(30000).reshape(-1, 3))}, 2000)
    rows = shown["result"]
    assert rows[0] == [0, 1, 2] and rows[1] == [3, 4, 5]
    assert PATH in json.dumps(rows[-1])


def test_large_arrays_and_lists_are_summarised_small_ones_are_not() -> None:
    value = {"big": np.linspace(0, 1, 1001), "rows": np.zeros((400, 3), np.int32), "list": list(range(600)),
             "small": [1, 2], "nested": [[np.array([np.nan] * 600 + [2.0])]]}
    done, count = summary.summarise(value, 500)
    assert count == 4
    big = done["big"]["$array"]
    assert (big["shape"], big["dtype"], big["min"], big["max"]) == ([1001], "float64", 0.0, 1.0)
    assert len(big["first"]) == summary.SHOWN_ROWS
    rows = done["rows"]["$array"]
    assert rows["shape"] == [400, 3] and rows["first"].shape == (10, 3)
    assert done["list"] == {"$list": {"type": "list", "length": 600, "first": list(range(10))}}
    assert done["small"] == [1, 2]
    nan = done["nested"][0][0]["$array"]
    assert nan["nan"] == 600 and nan["min"] == nan["max"] == 2.0
    assert json.loads(json.dumps(convert.to_json(done)))["rows"]["$array"]["first"][0] == [0, 0, 0]
    wide, _ = summary.summarise(np.ones((2, 1000)), 500)
    assert len(wide["$array"]["first_flat"]) == summary.SHOWN_ITEMS
