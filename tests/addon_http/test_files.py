"""files.WorkFolder: safe paths, atomic streamed writes, listing, delete."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from blender_http_addon.errors import HttpError
from blender_http_addon.files.folder import INTERNAL, WorkFolder


@pytest.fixture
def folder(tmp_path: Path) -> WorkFolder:
    return WorkFolder(str(tmp_path / "root"))


def read(folder: WorkFolder, relative: str) -> bytes:
    handle, size = folder.open(relative)
    with handle:
        data = handle.read()
    assert len(data) == size
    return data


def listing(folder: WorkFolder) -> list[dict[str, object]]:
    """Every file, as GET /files lists them (one page holds them all here)."""
    page = folder.page(None, 1000)
    assert page.resume is None
    return page.files


def leftovers(folder: WorkFolder) -> list[str]:
    return [name for _, _, names in os.walk(folder.root) for name in names if name.startswith(".upload-")]


def test_write_read_list_delete(folder: WorkFolder) -> None:
    path, size, created = folder.write("a/b/mesh.bin", [b"abc", b"", b"def"])
    assert (path, size, created) == (folder.root / "a" / "b" / "mesh.bin", 6, True)
    assert read(folder, "a/b/mesh.bin") == b"abcdef"
    assert folder.write("a/b/mesh.bin", [b"new"])[1:] == (3, False)
    assert read(folder, "a/b/mesh.bin") == b"new"
    folder.write("top.txt", [b"t"])
    listed = listing(folder)
    assert [(f["path"], f["size"]) for f in listed] == [("a/b/mesh.bin", 3), ("top.txt", 1)]
    assert all(isinstance(f["modified"], float) for f in listed)
    folder.delete("a/b/mesh.bin")
    assert [f["path"] for f in listing(folder)] == ["top.txt"]


def test_missing_files_are_404(folder: WorkFolder) -> None:
    for action in (lambda: folder.open("nope.txt"), lambda: folder.delete("nope.txt")):
        with pytest.raises(HttpError) as info:
            action()
        assert info.value.status == 404
    (folder.root / "sub").mkdir()
    with pytest.raises(HttpError) as info:
        folder.open("sub")
    assert info.value.status == 404


def test_write_is_atomic(folder: WorkFolder) -> None:
    folder.write("data.bin", [b"old"])
    target = folder.root / "data.bin"
    seen: list[bytes] = []

    def chunks() -> Iterator[bytes]:
        yield b"new-1"
        seen.append(target.read_bytes())  # halfway: readers still see the whole old file
        yield b"new-2"

    folder.write("data.bin", chunks())
    assert seen == [b"old"]
    assert target.read_bytes() == b"new-1new-2"
    assert leftovers(folder) == []


def test_new_file_is_not_visible_until_complete(folder: WorkFolder) -> None:
    target = folder.root / "fresh.bin"
    seen: list[bool] = []

    def chunks() -> Iterator[bytes]:
        yield b"part"
        seen.append(target.exists())
        assert [f["path"] for f in listing(folder)] == []  # the temp file is not listed
        yield b"rest"

    folder.write("fresh.bin", chunks())
    assert seen == [False]


def test_failed_upload_leaves_no_file_and_no_temp_file(folder: WorkFolder) -> None:
    folder.write("keep.bin", [b"original"])

    def broken() -> Iterator[bytes]:
        yield b"partial"
        raise HttpError(408, "client stalled")

    for name in ("keep.bin", "never.bin"):
        with pytest.raises(HttpError):
            folder.write(name, broken())
    assert read(folder, "keep.bin") == b"original"
    assert not (folder.root / "never.bin").exists()
    assert leftovers(folder) == []


@pytest.mark.parametrize("relative", [
    "", "..", "../x", "a/../../x", "a/../b", "./x", "a/./b", "a//b",
    "/etc/passwd", "//etc/passwd", "a\x00b", "a\\..\\b", "..\\x",
])
def test_unsafe_paths_are_refused(folder: WorkFolder, relative: str) -> None:
    for action in (lambda: folder.resolve(relative), lambda: folder.write(relative, [b"x"]),
                   lambda: folder.open(relative), lambda: folder.delete(relative)):
        with pytest.raises(HttpError) as info:
            action()
        assert info.value.status == 400


@pytest.mark.usefixtures("symlinks")
def test_symlink_leaving_the_folder_is_refused(folder: WorkFolder, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"secret")
    (folder.root / "link").symlink_to(outside, target_is_directory=True)
    (folder.root / "file-link").symlink_to(outside / "secret.txt")
    (folder.root / "dangling").symlink_to(outside / "missing.txt")
    for relative in ("link/secret.txt", "file-link", "link/new.txt", "dangling"):
        with pytest.raises(HttpError) as info:
            folder.resolve(relative)
        assert info.value.status == 400
    with pytest.raises(HttpError):
        folder.write("link/new.txt", [b"x"])
    with pytest.raises(HttpError):
        folder.write("dangling", [b"x"])
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_bytes() == b"secret"


@pytest.mark.usefixtures("symlinks")
def test_no_link_is_followed_even_inside_the_folder(folder: WorkFolder) -> None:
    folder.write("real/data.txt", [b"x"])
    (folder.root / "alias").symlink_to(folder.root / "real", target_is_directory=True)
    (folder.root / "same.txt").symlink_to(folder.root / "real" / "data.txt")
    for relative in ("alias/data.txt", "same.txt"):
        with pytest.raises(HttpError) as refused:
            folder.open(relative)
        assert refused.value.status == 400 and "symbolic link" in refused.value.message
    with pytest.raises(HttpError):
        folder.write("alias/new.txt", [b"y"])
    folder.delete("same.txt")  # the link itself goes; its target stays
    assert read(folder, "real/data.txt") == b"x"
    assert [item["path"] for item in listing(folder)] == ["real/data.txt"]


def test_folder_targets_are_refused(folder: WorkFolder) -> None:
    (folder.root / "sub").mkdir()
    for relative in ("sub", "sub/"):
        with pytest.raises(HttpError) as info:
            folder.write(relative, [b"x"])
        assert info.value.status == 400
    assert folder.root.is_dir()


@pytest.mark.usefixtures("symlinks")
def test_listing_skips_links_to_folders(folder: WorkFolder, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "hidden.txt").write_bytes(b"x")
    (folder.root / "link").symlink_to(outside, target_is_directory=True)
    assert listing(folder) == []


def test_files_in_flight_are_neither_listed_nor_reachable(folder: WorkFolder) -> None:
    """Scratch files of a running render, export or import belong to the server."""
    folder.write("mine.txt", [b"x"])
    path, _, _ = folder.write(f"{INTERNAL}/abc/render.png", [b"png"], internal=True)
    assert path.read_bytes() == b"png"
    assert [item["path"] for item in listing(folder)] == ["mine.txt"]
    for relative in (f"{INTERNAL}/abc/render.png", f"{INTERNAL}/x"):
        with pytest.raises(HttpError) as refused:
            folder.resolve(relative)
        assert refused.value.status == 400
    folder.write(f"sub/{INTERNAL}/kept.txt", [b"y"])  # only the top-level folder is the server's
    assert f"sub/{INTERNAL}/kept.txt" in [item["path"] for item in listing(folder)]


def test_the_file_path_rule_in_words() -> None:
    import re

    from blender_http_addon.protocol import FILE_PATH, file_path_problem

    for good in ("a.txt", "my scene.blend", ".hidden", "renders/frame 1.png", "café/x", "..x"):
        assert file_path_problem(good) is None, good
        assert re.fullmatch(FILE_PATH, good), good  # OpenAPI's pattern says the same
    for bad, words in (("", "empty"), ("a\x00b", "NUL"), ("a\\b", "backslash"), ("/etc/x", "absolute"),
                       ("a/../b", "'..'"), ("./a", "'.'"), ("a//b", "empty segments"), ("..", "'..'"),
                       ("a/", "'a/'")):
        problem = file_path_problem(bad)
        assert problem is not None and words in problem, bad
        assert not re.fullmatch(FILE_PATH, bad), bad


def test_resolve_takes_folders_still_to_be_made(folder: WorkFolder) -> None:
    # An export's target: its folders come when the file is written.
    assert folder.resolve("out/deep/scene.obj") == folder.root / "out" / "deep" / "scene.obj"
    folder.write("a.txt", [b"x"])
    with pytest.raises(HttpError) as refused:  # a file on the way is still the caller's mistake
        folder.write("a.txt/b.txt", [b"y"])
    assert refused.value.status == 409
