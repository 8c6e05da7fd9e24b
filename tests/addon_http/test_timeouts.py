"""A job's timeout is checked before anything runs: finite, positive, at most
protocol.MAX_TIMEOUT_S (7 days); beyond that, 400 and the code never runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from blender_http_addon.api.exec_request import parse_timeout
from blender_http_addon.errors import HttpError
from blender_http_addon.protocol import MAX_TIMEOUT_S

TOO_LONG = ["1e10", "1e308", str(MAX_TIMEOUT_S + 1)]


@pytest.mark.parametrize("value", [*TOO_LONG, 1e10, 1e308])
def test_a_timeout_past_the_maximum_is_refused(value: Any) -> None:
    with pytest.raises(HttpError) as caught:
        parse_timeout(value)
    assert caught.value.status == 400
    assert "at most" in str(caught.value)


def test_the_maximum_itself_is_accepted() -> None:
    assert parse_timeout(MAX_TIMEOUT_S) == MAX_TIMEOUT_S
    assert parse_timeout(str(MAX_TIMEOUT_S)) == MAX_TIMEOUT_S


@pytest.mark.parametrize("value", TOO_LONG)
def test_exec_with_a_huge_timeout_answers_400_before_the_code_runs(
        make_server: Callable[..., Any], error_of: Callable[..., dict[str, Any]], tmp_path: Path,
        value: str) -> None:
    server = make_server()
    marker = tmp_path / "ran"
    code = f"open({str(marker)!r}, 'w').close()"
    with server.client() as http:
        for answer in (http.post("/exec", json={"code": code, "timeout": float(value)}),
                       http.post("/exec", params={"timeout": value}, content=code.encode()),
                       http.post("/jobs", json={"code": code, "timeout": float(value)})):
            assert error_of(answer, 400)["type"] == "BadRequest"
        # A route whose work runs as a task reads ?timeout= the same way.
        error_of(http.get("/scene", params={"timeout": value}), 400)
        assert http.post("/exec", content=b"1").status_code == 200
    assert not marker.exists()
