"""Checking files Blender wrote (scene/written.py): a PNG must be whole; a write that
failed for want of space is 507, any other OS error 500."""

from __future__ import annotations

import errno
import zlib
from pathlib import Path

import pytest

from blender_http_addon.errors import HttpError
from blender_http_addon.scene.written import check_export, check_png, storage_error


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
    header = (1).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0\0"))
            + chunk(b"IEND", b""))


def test_a_whole_png_passes(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(png())
    assert check_png(str(path)) == len(png())


@pytest.mark.parametrize("cut", [8, 20, -1, -12])
def test_a_cut_png_is_refused(tmp_path: Path, cut: int) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(png()[:cut])
    with pytest.raises(HttpError) as caught:
        check_png(str(path))
    assert caught.value.status == 500 and "incomplete" in caught.value.message  # the disk has room


def test_a_glb_shorter_than_its_header_says_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.glb"
    whole = b"glTF" + (2).to_bytes(4, "little") + (20).to_bytes(4, "little") + b"\0" * 8
    path.write_bytes(whole)
    assert check_export(str(path), "glb") == 20
    path.write_bytes(whole[:16])
    with pytest.raises(HttpError):
        check_export(str(path), "glb")


@pytest.mark.parametrize(("code", "status", "kind"), [
    (errno.ENOSPC, 507, "InsufficientStorage"), (errno.EDQUOT, 507, "InsufficientStorage"),
    (errno.EACCES, 500, "InternalError")])
def test_os_errors_map_to_507_for_a_full_disk_else_500(code: int, status: int, kind: str) -> None:
    error = storage_error(OSError(code, "reason"), "writing failed")
    assert (error.status, error.type) == (status, kind)
    assert error.message.startswith("writing failed") and "reason" in error.message
