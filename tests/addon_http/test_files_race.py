"""Check, then use: a folder of the work folder swapped for a link to outside, atomically
and over and over (renameat2 RENAME_EXCHANGE), while reads, writes, deletes and listings
run. Nothing outside is ever read, written or listed (Linux: the swap needs renameat2)."""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from pathlib import Path

import pytest

from blender_http_addon.errors import HttpError
from blender_http_addon.files.folder import WorkFolder

TRIES = 10_000
AT_FDCWD = -100
RENAME_EXCHANGE = 2


def _exchange() -> ctypes._CFuncPtr:  # type: ignore[name-defined]
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = libc.renameat2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return renameat2


def test_a_folder_swapped_for_a_link_reaches_nothing_outside(tmp_path: Path) -> None:
    renameat2 = _exchange()
    folder = WorkFolder(str(tmp_path / "work"))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f.txt").write_bytes(b"OUTSIDE")
    (outside / "only-outside.txt").write_bytes(b"OUTSIDE")
    folder.write("d/f.txt", [b"inside"])
    (folder.root / "swap").symlink_to(outside, target_is_directory=True)
    a, b = bytes(folder.root / "d"), bytes(folder.root / "swap")
    stop = threading.Event()
    swaps = 0

    def swapper() -> None:
        nonlocal swaps
        while not stop.is_set():
            assert renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) == 0, os.strerror(ctypes.get_errno())
            swaps += 1

    thread = threading.Thread(target=swapper, daemon=True)
    thread.start()
    seen: set[bytes] = set()
    refused = 0
    try:
        for i in range(TRIES):
            try:
                handle, _ = folder.open("d/f.txt")
                with handle:
                    seen.add(handle.read())
            except HttpError:
                refused += 1
            try:
                folder.write(f"d/new-{i % 50}.txt", [b"written"])
            except HttpError:
                refused += 1
            if i % 100 == 0:
                # The real folder is listed under whichever name it has now; outside never.
                assert not [item for item in folder.page(None, 1000).files if "only-outside" in item["path"]]
            try:
                folder.delete("d/f.txt")
                folder.write("d/f.txt", [b"inside"])
            except HttpError:
                refused += 1
    finally:
        stop.set()
        thread.join()
    assert swaps > 1000 and refused > 0  # the race was on, and links were met
    assert seen <= {b"inside"}
    assert sorted(p.name for p in outside.iterdir()) == ["f.txt", "only-outside.txt"]  # nothing new there
    assert (outside / "f.txt").read_bytes() == b"OUTSIDE"


def test_the_swap_itself_works(tmp_path: Path) -> None:
    # A swap that silently did nothing would make the test above pass for nothing.
    renameat2 = _exchange()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").symlink_to(tmp_path)
    assert renameat2(AT_FDCWD, bytes(tmp_path / "a"), AT_FDCWD, bytes(tmp_path / "b"), RENAME_EXCHANGE) == 0
    assert (tmp_path / "a").is_symlink() and not (tmp_path / "b").is_symlink()


pytestmark = [pytest.mark.timeout(300),
              pytest.mark.skipif(sys.platform != "linux", reason="the swap needs Linux's renameat2")]
