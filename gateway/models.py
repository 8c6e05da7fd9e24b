"""Typed request and response bodies: what /openapi.json, Swagger UI and ReDoc show.

The gateway forwards bodies as they came (it never re-encodes an exec request); these
models describe the wire format the add-on speaks, with examples that run as they are."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from blender_http_addon.protocol import CODE, MAX_RENDER_SAMPLES, MAX_RENDER_SIZE, MAX_TIMEOUT_S, SESSION_NAME


def anchored(pattern: str) -> str:
    """A protocol pattern (matched whole by the add-on) as a JSON-schema pattern, which
    matches anywhere unless anchored."""
    return f"^(?:{pattern})$"


SESSION_PATTERN = anchored(SESSION_NAME)
CODE_PATTERN = anchored(CODE)
JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled", "timed_out"]


class Open(BaseModel):
    # Answers may grow fields; a client must not break on them.
    model_config = ConfigDict(extra="allow")


# -- errors ------------------------------------------------------------------------

class ErrorDetail(Open):
    type: str = Field(description="A stable name to branch on: NameError, NotFound, BackendDied ...")
    message: str
    line: int | None = Field(None, description="The failing line of the submitted code (exec errors).")
    traceback: str | None = Field(None, description="The traceback, showing the code's own lines.")


class ErrorResponse(Open):
    """The one error shape, from the gateway and the add-on alike."""

    # Each route's answers carry an example per status (routes/openapi.py, errors()); this one is the shape.
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"ok": False, "error": {"type": "NotFound", "message": "no session 'work'"}}]})
    ok: Literal[False]
    error: ErrorDetail


# -- exec and jobs -------------------------------------------------------------------

EXEC_EXAMPLES: dict[str, Any] = {"examples": [
    {"code": "import bpy\n[o.name for o in bpy.data.objects]"},
    {"code": "bpy.data.objects[args['name']].location.x += args['dx']\nresult = 'moved'",
     "args": {"name": "Cube", "dx": 1.5}, "session": "demo", "timeout": 10}]}


class ExecRequest(BaseModel):
    """Code to run in Blender. A text body (text/plain, text/x-python) is the code itself."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=EXEC_EXAMPLES)
    code: str = Field(min_length=1, pattern=CODE_PATTERN,
                      description="Python source; the last expression is the result.")
    args: dict[str, Any] | None = Field(None, description="Values bound to `args` in the code.")
    session: str | None = Field(None, pattern=SESSION_PATTERN,
                                description="Keep variables across calls under this name "
                                                  "(the session lives on one backend).")
    timeout: float | None = Field(None, gt=0, le=MAX_TIMEOUT_S, allow_inf_nan=False,
                                  description="Seconds before the code is interrupted (504).")


class ExecResult(Open):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"ok": True, "result": ["Camera", "Cube", "Light"], "stdout": "", "stderr": "",
         "duration_ms": 0.4, "job": "aHR0cDovLzEyNy4wLjAuMTo3Nzc3.3f9c2d1e0a4b5c6d"}]})
    ok: Literal[True]
    result: Any = Field(description="The value of the last expression, as JSON.")
    stdout: str
    stderr: str
    duration_ms: float | None = None
    job: str | None = None


class JobView(Open):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"id": "aHR0cDovLzEyNy4wLjAuMTo3Nzc3.3f9c2d1e0a4b5c6d", "status": "succeeded",
         "session": None, "created_at": 1767225600.0, "started_at": 1767225600.001,
         "finished_at": 1767225600.002,
         "envelope": {"ok": True, "result": 2, "stdout": "", "stderr": "", "duration_ms": 0.3}}]})
    id: str = Field(description="The gateway's job id (it names the backend that runs the job).")
    status: JobStatus
    session: str | None = None
    created_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    stop_requested: str | None = None
    envelope: dict[str, Any] | None = Field(None, description="The exec answer once finished.")
    backend: str | None = Field(None, description="The backend that runs the job: send it as "
                                                  "X-Blender-Backend to reach the job's files.")


class JobList(Open):
    jobs: list[JobView]


class SessionView(Open):
    name: str
    created_at: float | None = None
    last_used: float | None = None
    runs: int | None = None
    variables: int | None = None


class SessionList(Open):
    sessions: list[SessionView]


# -- files -----------------------------------------------------------------------------

class FileEntry(Open):
    path: str
    size: int
    modified: float | None = None


class FileList(Open):
    root: str | None = None
    files: list[FileEntry]
    next: str | None = Field(None, description="Where the next page starts: send it back as "
                             "`?after=`; null on the last page")


class FileStored(Open):
    path: str
    size: int


# -- scene -----------------------------------------------------------------------------

Vector3 = list[float | None]


class FrameInfo(Open):
    start: int
    end: int
    current: int
    fps: float


class RenderInfo(Open):
    engine: str
    resolution: list[int]
    percentage: int
    engines: list[str]


class ObjectSummary(Open):
    name: str
    type: str
    location: Vector3
    rotation: Vector3
    scale: Vector3
    dimensions: Vector3
    parent: str | None = None
    collections: list[str] = []
    visible: bool | None = None
    hide_viewport: bool | None = None
    hide_render: bool | None = None
    materials: list[str | None] = []


class SceneView(Open):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"ok": True, "name": "Scene", "frame": {"start": 1, "end": 250, "current": 1, "fps": 24},
         "render": {"engine": "CYCLES", "resolution": [1920, 1080], "percentage": 100,
                    "engines": ["BLENDER_EEVEE", "BLENDER_WORKBENCH", "CYCLES"]},
         "camera": "Camera", "total": 1, "offset": 0, "limit": 100,
         "objects": [{"name": "Cube", "type": "MESH", "location": [0, 0, 0], "rotation": [0, 0, 0],
                      "scale": [1, 1, 1], "dimensions": [2, 2, 2], "parent": None,
                      "collections": ["Collection"], "visible": True, "hide_viewport": False,
                      "hide_render": False, "materials": ["Material"]}]}]})
    ok: Literal[True]
    name: str
    frame: FrameInfo
    render: RenderInfo
    camera: str | None = None
    total: int
    offset: int
    limit: int
    objects: list[ObjectSummary]


class ObjectDetail(ObjectSummary):
    data: str | None = None
    matrix_world: list[list[float]] | None = None
    children: list[str] = []
    modifiers: list[dict[str, Any]] = []
    material_slots: list[dict[str, Any]] = []
    mesh: dict[str, int] | None = None
    custom_properties: dict[str, Any] = {}


class ObjectAnswer(Open):
    ok: Literal[True]
    object: ObjectDetail


class VerticesAnswer(Open):
    ok: Literal[True]
    count: int
    vertices: list[list[float | None]]


class RenderRequest(BaseModel):
    """Every field is optional: unset ones keep the scene's settings (restored afterwards)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"engine": "BLENDER_WORKBENCH", "width": 320, "height": 180},
        {"engine": "CYCLES", "width": 640, "height": 360, "samples": 16, "camera": "Camera", "frame": 1}]})
    engine: str | None = Field(None, description="An engine from GET /scene's render.engines.")
    width: int | None = Field(None, ge=1, le=MAX_RENDER_SIZE)
    height: int | None = Field(None, ge=1, le=MAX_RENDER_SIZE)
    samples: int | None = Field(None, ge=1, le=MAX_RENDER_SAMPLES)
    camera: str | None = None
    frame: int | None = None


class ImportResult(Open):
    ok: Literal[True]
    objects: list[str]


# -- gateway ------------------------------------------------------------------------

class BackendHealth(Open):
    key: str = Field(description="Stable identity: the URL, or spawn-N for a spawned worker.")
    url: str | None
    healthy: bool
    busy: bool
    queued: int
    max_queue: int = Field(0, description="The backend's queue bound (0 until its first health check).")
    inflight: int = Field(description="Requests this gateway has open to the backend.")
    waiting: int = Field(0, description="Work sent to it that waits behind the running job.")
    running: int = Field(0, description="Jobs it runs now (0 or 1).")
    mode: str | None = None
    blender: str | None = None
    pid: int | None = None
    error: str | None = None


class GatewayHealth(Open):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"status": "ok", "healthy": 1, "total": 1, "version": "0.1.0",
         "backends": [{"key": "http://127.0.0.1:7777", "url": "http://127.0.0.1:7777", "healthy": True,
                       "busy": False, "queued": 0, "inflight": 0, "mode": "module",
                       "blender": "5.0.1", "pid": None, "error": None}]}]})
    status: Literal["ok", "degraded", "down"]
    version: str
    # With an API key only:
    healthy: int | None = None
    total: int | None = None
    waiting: int | None = Field(None, description="Work waiting on every worker: an autoscaler's signal.")
    running: int | None = Field(None, description="Jobs running on every worker.")
    backends: list[BackendHealth] | None = None
