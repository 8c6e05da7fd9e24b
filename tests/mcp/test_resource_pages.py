"""The work folder in pages (files/paged.py, behind resources/list), no Blender: every file
once, in the order of its path's parts, however small the page or the bound on names looked
at; links, the server's files in flight and half-written uploads never listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from blender_http_addon.files import paged
from blender_http_addon.files.dirs import UPLOAD_PREFIX
from blender_http_addon.files.folder import INTERNAL

FILES = ["a.txt", "a/b.txt", "a/c/d.txt", "a/c/e.txt", "a-b.txt", "b/x.txt", "c.txt", "z/y/x/w.txt"]


def _tree(root: Path) -> None:
    for name in FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(name.encode())
    (root / "a" / "empty").mkdir()
    (root / INTERNAL).mkdir()
    (root / INTERNAL / "scratch.png").write_bytes(b"x")
    (root / "b" / f"{UPLOAD_PREFIX}0123").write_bytes(b"half")
    (root / "link.txt").symlink_to(root / "c.txt")
    (root / "linked").symlink_to(root / "a", target_is_directory=True)


def _all(root: Path, limit: int, max_entries: int) -> tuple[list[str], int]:
    paths: list[str] = []
    after = None
    pages = 0
    while True:
        page = paged.page(str(root), after, limit, max_entries)
        assert len(page.files) <= limit
        paths += [item["path"] for item in page.files]
        pages += 1
        if page.resume is None:
            return paths, pages
        assert after is None or page.resume > after  # always forward
        after = page.resume


ORDER = sorted(FILES, key=lambda path: tuple(path.split("/")))


@pytest.mark.parametrize(("limit", "max_entries"), [(100, 10_000), (1, 10_000), (3, 10_000), (100, 1),
                                                    (2, 3), (1, 2)])
def test_every_file_once_in_order(tmp_path: Path, limit: int, max_entries: int) -> None:
    _tree(tmp_path)
    paths, pages = _all(tmp_path, limit, max_entries)
    assert paths == ORDER
    assert ORDER[:2] == ["a/b.txt", "a/c/d.txt"]  # a folder's files before a.txt, as the walk goes
    if limit == 1:
        assert pages >= len(FILES)


def test_a_page_looks_at_no_more_names_than_its_bound(tmp_path: Path) -> None:
    for index in range(50):
        (tmp_path / f"f{index:02d}").write_bytes(b"")
    page = paged.page(str(tmp_path), None, 100, 7)
    assert [item["path"] for item in page.files] == [f"f{index:02d}" for index in range(7)]
    assert page.resume == ("f06",)
    rest = paged.page(str(tmp_path), page.resume, 100, 10_000)
    assert [item["path"] for item in rest.files] == [f"f{index:02d}" for index in range(7, 50)]
    assert rest.resume is None
    assert [item["size"] for item in page.files] == [0] * 7
