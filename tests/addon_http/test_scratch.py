"""Scratch folders for files Blender writes for one request: gone once the answer is."""

from __future__ import annotations

from pathlib import Path

import pytest

from blender_http_addon.files import scratch


def test_a_sent_file_takes_its_folder_along(tmp_path: Path) -> None:
    folder = scratch.create(tmp_path)
    path = folder / "render.png"
    path.write_bytes(b"x" * (scratch.CHUNK + 10))
    stream = scratch.StreamThenRemove(path, folder)
    assert stream.size == scratch.CHUNK + 10
    assert b"".join(stream) == path.read_bytes()
    stream.close()
    assert not folder.exists()


def test_a_stream_never_started_still_removes_its_folder(tmp_path: Path) -> None:
    folder = scratch.create(tmp_path)
    (folder / "scene.glb").write_bytes(b"glTF")
    scratch.StreamThenRemove(folder / "scene.glb", folder).close()  # e.g. a HEAD request
    assert not folder.exists()
    assert scratch.create(tmp_path) != folder


def test_safe_stem() -> None:
    assert scratch.safe_stem("model.obj") == "model"
    assert scratch.safe_stem("../../etc/passwd.obj") == "passwd"
    assert scratch.safe_stem("C:\\Users\\me\\my model!.stl") == "my_model"
    assert scratch.safe_stem(None) == scratch.safe_stem("...") == "upload"


def test_a_failed_request_removes_its_folder(tmp_path: Path) -> None:
    folder = scratch.create(tmp_path)
    with pytest.raises(ValueError), scratch.removed_on_error(folder):
        raise ValueError("the export failed")
    assert not folder.exists()
    kept = scratch.create(tmp_path)
    with scratch.removed_on_error(kept):
        pass
    assert kept.exists()
