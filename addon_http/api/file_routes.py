"""Routes of the work folder: /files and /files/{path}, streamed both ways."""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from ..files import paged
from ..http.request import Request
from ..http.response import Response
from ..protocol import CHUNK, FILES_PAGE, MAX_FILES_PAGE, OCTET
from .queries import int_query

if TYPE_CHECKING:
    from ..service import Service


def list_files(service: Service, req: Request) -> Response:
    """A page of the work folder's files (?limit=), from the start or after the path
    ?after= (the `next` of the page before); `next` is null on the last page."""
    limit = int_query(req, "limit", FILES_PAGE, 1, MAX_FILES_PAGE)
    found = service.files.page(paged.after_parts(req.query.get("after"), "?after="), limit)
    return Response.json({"root": str(service.files.root), "files": found.files,
                          "next": found.next_after})


def get_file(service: Service, req: Request) -> Response:
    """A file's bytes, streamed."""
    handle, size = service.files.open(req.params["path"])
    kind = mimetypes.guess_type(req.params["path"])[0] or OCTET
    return Response(content_type=kind, stream=_read_file(handle), length=size)


def put_file(service: Service, req: Request) -> Response:
    """Store the body as a file, streamed to disk and renamed into place."""
    path, size, created = service.files.write(req.params["path"],
                                              req.iter_body(service.config.max_file_bytes))
    body = {"path": path.relative_to(service.files.root).as_posix(), "size": size}
    return Response.json(body, status=201 if created else 200)


def delete_file(service: Service, req: Request) -> Response:
    """Remove a file from the work folder."""
    service.files.delete(req.params["path"])
    return Response.empty()


def _read_file(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while True:
            block = handle.read(CHUNK)
            if not block:
                return
            yield block
