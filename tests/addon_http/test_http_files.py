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
