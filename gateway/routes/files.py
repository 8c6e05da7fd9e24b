"""Files in a backend's work folder, streamed both ways (never held whole by the gateway)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request, Response

from blender_http_addon.protocol import (
    FILE,
    FILE_PATH,
    FILE_PATH_RULE,
    FILES,
    FILES_PAGE,
    MAX_FILE_PATH_CHARS,
    MAX_FILES_PAGE,
    OCTET,
    file_path_problem,
)

from ..core import Gateway
from ..errors import GatewayError
from ..forwarding.forward import Body, Forward
from ..models import FileList, FileStored
from .deps import GatewayDep
from .openapi import binary_answer, binary_body, errors, file_errors

router = APIRouter(tags=["files"])

# Checked by the add-on's own rule (protocol.file_path_problem) in _file(), so the gateway
# accepts exactly the names a worker accepts, and refuses the others in the same words.
FilePath = Annotated[str, Path(description=f"A path inside the work folder: {FILE_PATH_RULE}",
                               examples=["renders/frame.png", "my scene.blend"],
                               json_schema_extra={"pattern": FILE_PATH})]
PLACE = ("Files live on one backend: the one of `?session=`, the one named by X-Blender-Backend "
         "(every answer carries it), else the same one for every call with the same API key.")


@router.get(FILES, summary="List the work folder", description=PLACE, response_model=FileList,
            responses=errors())
async def list_files(request: Request, gateway: GatewayDep,
                     limit: Annotated[int, Query(ge=1, le=MAX_FILES_PAGE,
                                                 description="Most files in the page")] = FILES_PAGE,
                     after: Annotated[str | None, Query(
                         max_length=MAX_FILE_PATH_CHARS,
                         description="The `next` of the page before")] = None) -> Response:
    """A page of the work folder's files, folder by folder in the order of their names; `next`
    continues it. (The query goes to the backend as sent: limit and after are declared for
    the schema and checked here.)"""
    return await gateway.forward(Forward(request, FILES, busy=False,
                                         backend=gateway.pick_for_files(request)))


@router.get(FILE, summary="Download a file", description=PLACE,
            responses={200: binary_answer(OCTET, "The file's bytes, streamed"),
                       **file_errors(404)})
async def get_file(request: Request, gateway: GatewayDep, path: FilePath) -> Response:
    """A file's bytes, streamed."""
    return await gateway.forward(_file(request, gateway, path))


@router.put(FILE, summary="Upload a file", description=PLACE,
            openapi_extra=binary_body("The file's bytes"),
            responses={200: {"model": FileStored, "description": "Replaced"},
                       201: {"model": FileStored, "description": "Created"},
                       **file_errors(413)})
async def put_file(request: Request, gateway: GatewayDep, path: FilePath) -> Response:
    """Store the body as a file (streamed to the backend's disk, renamed into place)."""
    return await gateway.forward(_file(request, gateway, path, body=request.stream()))


@router.delete(FILE, status_code=204, summary="Delete a file", description=PLACE,
               responses={204: {"description": "Deleted"}, **file_errors(404)})
async def delete_file(request: Request, gateway: GatewayDep, path: FilePath) -> Response:
    """Remove a file from the work folder."""
    return await gateway.forward(_file(request, gateway, path))


def _file(request: Request, gateway: Gateway, path: str, body: Body = None) -> Forward:
    """A request about one file, for the backend that holds the caller's files."""
    problem = file_path_problem(path)
    if problem is not None:
        raise GatewayError(400, problem)
    return Forward(request, f"{FILES}/{quote(path)}", body=body, busy=False,
                   backend=gateway.pick_for_files(request))
