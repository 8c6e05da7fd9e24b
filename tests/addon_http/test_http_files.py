"""/files end to end in-process: chunked upload, streamed download, listing, delete, refusals."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

ErrorOf = Callable[..., dict[str, Any]]


def test_chunked_upload_then_streamed_download(server: Any, client: httpx.Client) -> None:
    blocks = [os.urandom(100_000) for _ in range(7)]

    def body() -> Iterator[bytes]:
        yield from blocks  # a generator: httpx sends Transfer-Encoding: chunked

    created = client.put("/files/meshes/big.bin", content=body())
    assert created.status_code == 201
    assert created.json() == {"path": "meshes/big.bin", "size": 700_000}
    with client.stream("GET", "/files/meshes/big.bin") as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/octet-stream"
        assert response.headers["Content-Length"] == "700000"
        received = b"".join(response.iter_bytes())
    assert received == b"".join(blocks)
    assert (server.service.files.root / "meshes" / "big.bin").read_bytes() == received


def test_overwrite_is_200_and_content_type_is_guessed(client: httpx.Client) -> None:
    assert client.put("/files/notes.txt", content=b"one").status_code == 201
    replaced = client.put("/files/notes.txt", content=b"two")
    assert (replaced.status_code, replaced.json()["size"]) == (200, 3)
    response = client.get("/files/notes.txt")
    assert response.content == b"two"
    assert response.headers["Content-Type"].startswith("text/plain")


def test_list_and_delete(server: Any, client: httpx.Client, error_of: ErrorOf) -> None:
    client.put("/files/b.txt", content=b"bb")
    client.put("/files/dir/a.txt", content=b"a")
    listing = client.get("/files").json()
    assert listing["root"] == str(server.service.files.root)
    assert [(f["path"], f["size"]) for f in listing["files"]] == [("b.txt", 2), ("dir/a.txt", 1)]
    deleted = client.delete("/files/dir/a.txt")
    assert (deleted.status_code, deleted.content) == (204, b"")
    error_of(client.get("/files/dir/a.txt"), 404)
    error_of(client.delete("/files/dir/a.txt"), 404)
    assert [f["path"] for f in client.get("/files").json()["files"]] == ["b.txt"]


def test_uploaded_files_are_in_workdir_for_code(client: httpx.Client) -> None:
    client.put("/files/input.txt", content=b"from the client")
    code = b"import os\nopen(os.path.join(WORKDIR, 'input.txt')).read()"
    assert client.post("/exec", content=code).json()["result"] == "from the client"
    client.post("/exec", content=b"open(WORKDIR + '/output.txt', 'w').write('made by code')")
    assert client.get("/files/output.txt").content == b"made by code"


def test_head_gives_the_size_without_the_body(client: httpx.Client) -> None:
    client.put("/files/h.bin", content=b"12345")
    response = client.head("/files/h.bin")
    assert (response.status_code, response.headers["Content-Length"], response.content) == (200, "5", b"")
    assert client.get("/files/h.bin").content == b"12345"  # the connection is still in step


@pytest.mark.parametrize("path", [
    "/files/../secret", "/files/%2e%2e/secret", "/files/a/%2E%2E/%2E%2E/secret",
    "/files/%2Fetc%2Fpasswd", "/files//etc/passwd", "/files/a%00b", "/files/a%5C..%5Cb",
])
def test_paths_leaving_the_folder_are_400(server: Any, raw: Callable[..., Any], error_of: ErrorOf,
                                          path: str) -> None:
    for method in ("GET", "DELETE", "PUT"):
        connection = raw(server.port)  # raw: httpx would normalise '..' away
        length = "Content-Length: 0\r\n" if method == "PUT" else ""
        connection.send(f"{method} {path} HTTP/1.1\r\nHost: {server.host_header}\r\n{length}\r\n".encode())
        error_of(connection.read_response(), 400)
    assert not (server.service.files.root.parent / "secret").exists()
    server.assert_healthy()


@pytest.mark.usefixtures("symlinks")
def test_symlink_out_of_the_folder_is_refused(server: Any, client: httpx.Client, error_of: ErrorOf,
                                              tmp_path: Any) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"secret")
    (server.service.files.root / "escape").symlink_to(outside, target_is_directory=True)
    error_of(client.get("/files/escape/secret.txt"), 400)
    with server.client(keepalive=False) as http:  # the refused body is left unread
        error_of(http.put("/files/escape/new.txt", content=b"x"), 400)
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert client.get("/files").json()["files"] == []


def test_folder_paths_are_refused(client: httpx.Client, error_of: ErrorOf) -> None:
    client.put("/files/sub/f.txt", content=b"x")
    error_of(client.get("/files/sub"), 404)
    error_of(client.delete("/files/sub"), 404)
    error_of(client.put("/files/sub", content=b"x"), 400)
    error_of(client.put("/files/sub/", content=b"x"), 400)


def _made(root: Any, paths: list[str]) -> None:
    for path in paths:
        target = root.joinpath(*path.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.encode())


# In the order of their names folder by folder ("a/..." before "a.txt", unlike a sort of the
# whole paths): the order GET /files pages through.
LISTED = ["a/b.txt", "a/c/d.txt", "a.txt", "b/x1.txt", "b/x2.txt", "b/x3.txt", "c.txt", "z/1/2/3.txt"]


def test_listing_comes_in_pages_each_file_once(server: Any, client: httpx.Client, error_of: ErrorOf) -> None:
    _made(server.service.files.root, LISTED)
    (server.service.files.root / "empty" / "folders").mkdir(parents=True)
    pages, after = [], None
    while True:
        page = client.get("/files", params={"limit": 3, **({"after": after} if after else {})}).json()
        pages.append([f["path"] for f in page["files"]])
        after = page["next"]
        if after is None:
            break
    assert pages == [LISTED[:3], LISTED[3:6], LISTED[6:]]
    whole = client.get("/files").json()  # a page of FILES_PAGE: all of them, and no next
    assert [(f["path"], f["size"]) for f in whole["files"]] == [(p, len(p)) for p in LISTED]
    assert whole["next"] is None
    assert client.get("/files", params={"after": "c.txt"}).json()["files"][0]["path"] == "z/1/2/3.txt"
    assert client.get("/files", params={"after": "zz"}).json() == {
        "root": str(server.service.files.root), "files": [], "next": None}


def test_a_page_stops_after_looking_at_its_bound_of_names(server: Any, client: httpx.Client,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from blender_http_addon.files import paged
    monkeypatch.setattr(paged, "MAX_ENTRIES", 4)
    paths = [f"many/{n:02d}.txt" for n in range(10)]
    _made(server.service.files.root, paths)
    seen, after, pages = [], None, 0
    while True:
        page = client.get("/files", params={"limit": 100, **({"after": after} if after else {})}).json()
        assert len(page["files"]) <= 4
        seen += [f["path"] for f in page["files"]]
        pages += 1
        after = page["next"]
        if after is None:
            break
    assert seen == paths and pages >= 3


@pytest.mark.parametrize(("params", "words"), [
    ({"limit": "0"}, "?limit= must be between 1 and 10000"),
    ({"limit": "10001"}, "?limit= must be between 1 and 10000"),
    ({"limit": "many"}, "?limit= must be a number"),
    ({"after": "a/" * 600}, "?after= is a path of at most 1024 characters"),
])
def test_bad_listing_queries_are_400(client: httpx.Client, error_of: ErrorOf, params: dict[str, str],
                                     words: str) -> None:
    assert error_of(client.get("/files", params=params), 400)["message"] == words
