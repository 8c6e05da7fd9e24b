"""json_text: the answers' JSON text, with text written beforehand (RawJSON) put in as it is."""

from __future__ import annotations

import json
from typing import Any

import pytest

from blender_http_addon.json_text import RawJSON, dumps, size


@pytest.mark.parametrize("value", [
    None, 1, "é\u2603", {"a": [1, 2.5, None]}, {"s": "\x00json-0000000000000000-0"}, [],
])
def test_plain_values_as_compact_json(value: Any) -> None:
    assert dumps(value) == json.dumps(value, separators=(",", ":"))
    assert size(value) == len(dumps(value))


def test_raw_json_is_written_as_it_is_wherever_it_is() -> None:
    value = {"ok": True, "result": RawJSON("[[1.5,2],[3,null]]"),
             "more": [RawJSON("{}"), "x", {"deep": RawJSON("7")}]}
    text = dumps(value)
    assert text == '{"ok":true,"result":[[1.5,2],[3,null]],"more":[{},"x",{"deep":7}]}'
    assert json.loads(text)["result"] == [[1.5, 2], [3, None]]
    assert size(value) == len(text)


def test_strings_that_look_like_placeholders_stay_strings() -> None:
    # The placeholder is "\u0000json-<random>-<n>": a caller's string of that shape, with
    # whatever nonce, is escaped in the text and never replaced.
    tricky = ["\x00json-", "\x00json-0123456789abcdef-0", '"\\u0000json-0123456789abcdef-0"']
    value = {"result": RawJSON("[1]"), "stdout": tricky}
    assert json.loads(dumps(value)) == {"result": [1], "stdout": tricky}
    assert json.loads(dumps(value, ensure_ascii=False)) == {"result": [1], "stdout": tricky}


def test_non_ascii_text_when_asked() -> None:
    value = {"t": "é", "r": RawJSON('"\\u00e9"')}
    assert dumps(value, ensure_ascii=False) == '{"t":"é","r":"\\u00e9"}'
    assert dumps(value) == '{"t":"\\u00e9","r":"\\u00e9"}'


def test_default_handles_other_objects_and_errors_stay_errors() -> None:
    assert dumps({"x": object}, default=lambda item: "obj") == '{"x":"obj"}'
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps({"x": object()})
