"""The scene conveniences: read objects, render, export and import, typed for Swagger UI.

Each backend is its own Blender with its own scene: with several backends, pin calls that
must see the same scene with `?session=` or X-Blender-Backend."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Header, Query, Request, Response

from blender_http_addon.protocol import (
    EXPORT,
    IMPORT,
    MAX_RENDER_SIZE,
    MAX_SCENE_PAGE,
    OBJECT,
    OCTET,
    RENDER,
    SCENE,
    SCREENSHOT,
    VERTICES,
)

from ..forwarding.forward import Forward
from ..models import ImportResult, JobView, ObjectAnswer, RenderRequest, SceneView, VerticesAnswer
from ..workers import jobids
from .deps import GatewayDep, read_body
from .openapi import binary_answer, binary_body, errors, json_body

router = APIRouter(tags=["scene"])

Session = Annotated[str | None, Query(description="Route to the backend of this session (its scene)")]
Size = Annotated[int | None, Query(ge=1, le=MAX_RENDER_SIZE)]
ExportFormat = Literal["glb", "gltf", "obj", "fbx", "stl", "ply", "usd"]
# Object types of every supported Blender (3.4 to 5.x); GPENCIL/GREASEPENCIL differ by version.
OBJECT_TYPES = ["MESH", "CURVE", "SURFACE", "META", "FONT", "CURVES", "POINTCLOUD", "VOLUME",
                "ARMATURE", "LATTICE", "EMPTY", "LIGHT", "LIGHT_PROBE", "CAMERA", "SPEAKER"]
MAX_OFFSET = 2**31 - 1
EXPORT_TYPES = ("model/gltf-binary", "model/gltf+json", "model/obj", "model/stl", OCTET)


@router.get(SCENE, summary="The scene and its objects, paged", response_model=SceneView,
            responses=errors())
async def scene(request: Request, gateway: GatewayDep,
                limit: Annotated[int, Query(ge=1, le=MAX_SCENE_PAGE)] = 100,
                offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
                # Listed for the docs, not enforced: the backend matches case-insensitively.
                type: Annotated[str | None, Query(description="Only objects of this type "
                                                              "(case-insensitive)",
                                                  json_schema_extra={"enum": OBJECT_TYPES})] = None,
                session: Session = None) -> Response:
    """Frame range, render settings, camera and every object (paged, not the first ten)."""
    return await gateway.forward(Forward(request, SCENE))


@router.get(OBJECT, summary="One object in detail", response_model=ObjectAnswer,
            responses=errors(404))
async def object_detail(request: Request, gateway: GatewayDep, name: str,
                        session: Session = None) -> Response:
    """Transform, hierarchy, modifiers, materials and mesh counts of one object."""
    return await gateway.forward(Forward(request, OBJECT.format(name=quote(name, safe=""))))


@router.get(VERTICES, summary="An object's vertex coordinates",
            response_model=VerticesAnswer,
            responses={200: {"model": VerticesAnswer, "description": "JSON, or with Accept: "
                             "application/octet-stream raw little-endian float32 (N, 3)",
                             "content": {OCTET: {
                                 "schema": {"type": "string", "format": "binary"}}}},
                       **errors(404)})
async def vertices(request: Request, gateway: GatewayDep, name: str,
                   space: Literal["local", "world"] = "local",
                   session: Session = None) -> Response:
    """Every vertex of a mesh object; fast for millions with Accept: application/octet-stream."""
    return await gateway.forward(Forward(request, VERTICES.format(name=quote(name, safe=""))))


@router.post(RENDER, summary="Render a still image",
             openapi_extra=json_body(RenderRequest, required=False),
             responses={200: binary_answer("image/png", "The image (X-Render-Engine, X-Render-Ms)"),
                        202: {"model": JobView, "description": "With Prefer: respond-async: the job"},
                        **errors(404, examples={
                            400: {"ok": False, "error": {"type": "BadRequest", "message":
                                  "unknown engine 'EEVEE': one of BLENDER_EEVEE_NEXT, CYCLES, "
                                  "BLENDER_WORKBENCH"}},
                            404: {"ok": False, "error": {"type": "NotFound",
                                                         "message": "no camera 'Cam'"}}})},
             response_class=Response)
async def render(request: Request, gateway: GatewayDep, session: Session = None,
                 prefer: Annotated[str | None, Header(description="respond-async: answer 202 with "
                                                                 "a job")] = None) -> Response:
    """Render the scene to PNG; scene settings are restored afterwards."""
    return await gateway.forward(Forward(request, RENDER, body=await read_body(request),
                                         rewrite=jobids.job_view))


@router.get(SCREENSHOT, summary="The viewport (GUI) or a quick render",
            responses={200: binary_answer("image/png", "X-Screenshot-Source: viewport or render"),
                       **errors()},
            response_class=Response)
async def screenshot(request: Request, gateway: GatewayDep,
                     width: Size = None, height: Size = None,
                     session: Session = None) -> Response:
    """A PNG of the 3D viewport in GUI mode, a fast render otherwise."""
    return await gateway.forward(Forward(request, SCREENSHOT))


@router.post(EXPORT, summary="Export the scene to a file format",
             responses={200: binary_answer(EXPORT_TYPES, "The file (Content-Disposition names it)"),
                        **errors(404, 501)}, response_class=Response)
async def export(request: Request, gateway: GatewayDep, format: ExportFormat,
                 objects: Annotated[str | None, Query(description="Comma-separated object names")] = None,
                 session: Session = None) -> Response:
    """The scene (or some objects) as glb, gltf, obj, fbx, stl or usd bytes."""
    return await gateway.forward(Forward(request, EXPORT, body=b""))


@router.post(IMPORT, status_code=201, summary="Import a file into the scene",
             openapi_extra=binary_body("The file's raw bytes"),
             responses={201: {"model": ImportResult, "description": "The objects the import created"},
                        **errors(413)})
async def import_file(request: Request, gateway: GatewayDep,
                      format: ExportFormat | None = None,
                      filename: Annotated[str | None, Query(description="Infer the format from its "
                                                                        "suffix")] = None,
                      session: Session = None) -> Response:
    """Import glb, gltf, obj, fbx, stl or usd bytes; answers the new objects' names."""
    return await gateway.forward(Forward(request, IMPORT, body=request.stream()))
