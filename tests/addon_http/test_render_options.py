"""POST /render bodies and /screenshot queries: types and ranges checked up front."""

from __future__ import annotations

import pytest

from blender_http_addon.errors import HttpError
from blender_http_addon.scene.render_options import RenderOptions, parse_body, parse_query


def test_every_field_is_optional() -> None:
    assert parse_body(b"") == RenderOptions()
    assert parse_body(b"{}") == RenderOptions()


def test_a_full_body() -> None:
    options = parse_body(b'{"engine": "cycles", "width": 640, "height": 360, "samples": 16, '
                         b'"camera": "Camera", "frame": 7}')
    assert options == RenderOptions(engine="CYCLES", width=640, height=360, samples=16,
                                    camera="Camera", frame=7)


@pytest.mark.parametrize("body", [
    b"[1]", b"{", b'{"width": 0}', b'{"width": 20000}', b'{"height": 1.5}', b'{"samples": true}',
    b'{"engine": 3}', b'{"camera": ""}', b'{"resolution": 2}',
])
def test_bad_bodies_are_400(body: bytes) -> None:
    with pytest.raises(HttpError) as caught:
        parse_body(body)
    assert caught.value.status == 400


def test_unknown_fields_are_named() -> None:
    with pytest.raises(HttpError, match="resolution"):
        parse_body(b'{"resolution": [1, 2]}')


def test_query_numbers_arrive_as_text() -> None:
    assert parse_query({"width": "160", "height": "90"}) == RenderOptions(width=160, height=90)
    with pytest.raises(HttpError):
        parse_query({"width": "wide"})
