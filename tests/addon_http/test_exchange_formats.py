"""Export/import format names, and inlining a glTF's side files into one .gltf."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from blender_http_addon.errors import HttpError
from blender_http_addon.scene.exchange_formats import (
    EXPORT_FORMATS,
    embed_gltf,
    export_format,
    import_format,
    parse_names,
)


def test_export_formats_of_the_contract() -> None:
    assert list(EXPORT_FORMATS) == ["glb", "gltf", "obj", "fbx", "stl", "ply", "usd"]
    assert export_format("GLB").content_type == "model/gltf-binary"


@pytest.mark.parametrize("name", [None, "", "blend", "../glb"])
def test_unknown_export_format_is_400_listing_the_valid(name: str | None) -> None:
    with pytest.raises(HttpError, match="glb, gltf, obj, fbx, stl, ply, usd") as caught:
        export_format(name)
    assert caught.value.status == 400


def test_import_format_from_query_or_filename() -> None:
    assert import_format("obj", None) == ("obj", ".obj")
    assert import_format(None, "Model.OBJ") == ("obj", ".obj")
    assert import_format(None, "scene.usda") == ("usd", ".usda")
    assert import_format("gltf", "thing.bin") == ("gltf", ".gltf")  # the format wins


@pytest.mark.parametrize("name,filename", [(None, None), ("dxf", None), (None, "notes.txt"), (None, "noext")])
def test_import_format_that_cannot_be_told_is_400(name: str | None, filename: str | None) -> None:
    with pytest.raises(HttpError) as caught:
        import_format(name, filename)
    assert caught.value.status == 400


def test_object_names() -> None:
    assert parse_names(None) is None
    assert parse_names(" ") is None
    assert parse_names("Cube, Light,,") == ["Cube", "Light"]


def test_embed_gltf_inlines_buffers_and_images(tmp_path: Path) -> None:
    (tmp_path / "scene.bin").write_bytes(b"\x00\x01\x02")
    (tmp_path / "tex one.png").write_bytes(b"\x89PNG")
    document = {"buffers": [{"uri": "scene.bin", "byteLength": 3}],
                "images": [{"uri": "tex%20one.png"}, {"bufferView": 0, "mimeType": "image/png"}]}
    (tmp_path / "scene.gltf").write_text(json.dumps(document))
    embedded = json.loads(embed_gltf(str(tmp_path / "scene.gltf")))
    buffer_uri = embedded["buffers"][0]["uri"]
    assert buffer_uri.startswith("data:application/octet-stream;base64,")
    assert base64.b64decode(buffer_uri.split(",", 1)[1]) == b"\x00\x01\x02"
    assert embedded["images"][0]["uri"] == "data:image/png;base64," + base64.b64encode(b"\x89PNG").decode()
    assert embedded["images"][1] == {"bufferView": 0, "mimeType": "image/png"}


def test_embed_gltf_refuses_files_outside_its_folder(tmp_path: Path) -> None:
    (tmp_path / "inner").mkdir()
    (tmp_path / "secret.bin").write_bytes(b"x")
    (tmp_path / "inner" / "scene.gltf").write_text(json.dumps({"buffers": [{"uri": "../secret.bin"}]}))
    with pytest.raises(ValueError):
        embed_gltf(str(tmp_path / "inner" / "scene.gltf"))
