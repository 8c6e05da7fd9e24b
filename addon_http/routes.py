"""The route table and the handlers: each a few lines that delegate to the service."""

from __future__ import annotations

import dataclasses
import json
import mimetypes
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import exchange_formats, jobs, render_options, scratch, tasks
from .errors import HttpError
from .exec_request import parse_exec, parse_timeout
from .execution import failure_envelope
from .request import Request
from .response import Response

if TYPE_CHECKING:
    from .service import Service

MAX_LONG_POLL_S = 300.0
OCTET = "application/octet-stream"
MAX_SCENE_PAGE = 1000

Handler = Callable[["Service", Request], Response]


@dataclasses.dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    # Open routes skip Host and token checks (load-balancer and Kubernetes probes).
    open: bool = False

    @property
    def regex(self) -> re.Pattern[str]:
        pattern = re.sub(r"\{(\w+):path\}", r"(?P<\1>.+)", self.template)
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
        return re.compile(pattern + r"\Z")


# -- handlers -------------------------------------------------------------------

def health(app: Service, req: Request) -> Response:
    """Liveness and load; never waits on the main thread."""
    return Response.json(app.health())


def exec_code(app: Service, req: Request) -> Response:
    """Run code and answer its envelope (or raw bytes with Accept: application/octet-stream)."""
    request = parse_exec(req.content_type, req.body(), req.query)
    job = app.submit(request, want_binary=req.accepts(OCTET), keep_result=False)
    if not tasks.wait(job):
        return _still_running(job)
    try:
        return exec_response(job)
    finally:
        job.forget_result()


def submit_job(app: Service, req: Request) -> Response:
    """Queue code to run; answer at once with the job's URL."""
    request = parse_exec(req.content_type, req.body(), req.query)
    job = app.submit(request)
    return Response.json(job.view(), status=202, headers={"Location": f"/jobs/{job.id}"})


def list_jobs(app: Service, req: Request) -> Response:
    """Recent jobs, newest first (?limit=, ?status=)."""
    limit = _int_query(req, "limit", 100, 1, app.config.job_retention)
    status = req.query.get("status")
    if status is not None and status not in jobs.FINISHED | {jobs.QUEUED, jobs.RUNNING}:
        raise HttpError(400, f"unknown status {status!r}")
    views = [job.view(with_envelope=False) for job in app.store.recent(limit, status)]
    return Response.json({"jobs": views})


def get_job(app: Service, req: Request) -> Response:
    """A job's state; ?wait=seconds long-polls until it finishes."""
    job = app.get_job(req.params["id"])
    wait = _float_query(req, "wait", 0.0, 0.0, MAX_LONG_POLL_S)
    if wait:
        job.done.wait(wait)
    return Response.json(job.view())


def cancel_job(app: Service, req: Request) -> Response:
    """Drop a queued job or interrupt a running one."""
    job = app.get_job(req.params["id"])
    if job.finished:
        raise HttpError(409, f"job {job.id} already finished ({job.status})")
    app.cancel(job)
    stopped = job.done.wait(1.0)
    return Response.json(job.view(), status=200 if stopped else 202)


def job_events(app: Service, req: Request) -> Response:
    """Server-sent events: stdout/stderr chunks as printed, then one "done" with the envelope."""
    job = app.get_job(req.params["id"])
    last = req.headers.get("Last-Event-ID", "")
    start = int(last) + 1 if last.isdigit() else 0
    return Response(content_type="text/event-stream", stream=_sse(job, start),
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def list_sessions(app: Service, req: Request) -> Response:
    """Named sessions and how much they hold."""
    return Response.json({"sessions": app.sessions.views()})


def delete_session(app: Service, req: Request) -> Response:
    """Forget a session and its variables."""
    if not app.sessions.delete(req.params["name"]):
        raise HttpError(404, f"no session {req.params['name']!r}")
    return Response.empty()


def list_files(app: Service, req: Request) -> Response:
    """Every file in the work folder."""
    return Response.json({"root": str(app.files.root), "files": app.files.listing()})


def get_file(app: Service, req: Request) -> Response:
    """A file's bytes, streamed."""
    handle, size = app.files.open(req.params["path"])
    kind = mimetypes.guess_type(req.params["path"])[0] or OCTET
    return Response(content_type=kind, stream=_read_file(handle), length=size)


def put_file(app: Service, req: Request) -> Response:
    """Store the body as a file, streamed to disk and renamed into place."""
    path, size, created = app.files.write(req.params["path"],
                                          req.iter_body(app.config.max_file_bytes))
    body = {"path": path.relative_to(app.files.root).as_posix(), "size": size}
    return Response.json(body, status=201 if created else 200)


def delete_file(app: Service, req: Request) -> Response:
    """Remove a file from the work folder."""
    app.files.delete(req.params["path"])
    return Response.empty()


# The scene, render and file-exchange routes hand their work to the main thread as tasks
# (tasks.py). The modules doing that work import bpy, so they are imported where they
# are used: this table must import without Blender.

def get_scene(app: Service, req: Request) -> Response:
    """Scene settings and one page of its objects (?limit=, ?offset=, ?type=MESH)."""
    from . import scene_view

    limit = _int_query(req, "limit", 100, 1, MAX_SCENE_PAGE)
    offset = _int_query(req, "offset", 0, 0, 2**31)
    kind = req.query.get("type") or None
    return Response.json(tasks.call(app, "scene", lambda job: scene_view.scene_listing(limit, offset, kind),
                                    timeout=_timeout(req)))


def get_object(app: Service, req: Request) -> Response:
    """One object in full: transform, modifiers, materials, mesh counts, custom properties."""
    from . import scene_view

    name = req.params["name"]
    return Response.json(tasks.call(app, "object", lambda job: scene_view.details(name),
                                    timeout=_timeout(req)))


def get_vertices(app: Service, req: Request) -> Response:
    """A mesh's vertex coordinates (?space=local|world): float32 (N, 3) bytes with
    Accept: application/octet-stream, else JSON."""
    from . import scene_view

    name, space = req.params["name"], req.query.get("space") or "local"
    if space not in ("local", "world"):
        raise HttpError(400, "?space= must be local or world")
    coords = tasks.call(app, "vertices", lambda job: scene_view.vertices(name, space), timeout=_timeout(req))
    count = len(coords) // 3
    if req.accepts(OCTET):
        if sys.byteorder == "big":
            coords.byteswap()
        return Response(body=coords.tobytes(), content_type=OCTET,
                        headers={"X-Result-Dtype": "<f4", "X-Result-Shape": f"{count},3"})
    values = coords.tolist()
    return Response.json({"ok": True, "count": count,
                          "vertices": [values[i:i + 3] for i in range(0, len(values), 3)]})


def post_render(app: Service, req: Request) -> Response:
    """Render the scene to a PNG; with Prefer: respond-async, a job whose result is the
    file renders/<job>.png in the work folder."""
    from . import render

    options = render_options.parse_body(req.body())
    timeout = _timeout(req)
    if "respond-async" in req.headers.get("Prefer", "").lower():
        root = str(app.files.root)
        job = app.submit_task("render", lambda job: render.render_job_file(options, root, job),
                              timeout=timeout, keep_result=True)
        return Response.json(job.view(), status=202, headers={"Location": f"/jobs/{job.id}"})
    folder = scratch.create(app.files.root)
    path = folder / "render.png"
    with scratch.removed_on_error(folder):
        done = tasks.call(app, "render", lambda job: render.render_png(options, str(path), job.progress),
                          timeout=timeout)
    return _scratch_file(path, folder, "image/png", {"X-Render-Engine": done["engine"],
                                                     "X-Render-Ms": str(done["render_ms"])})


def get_screenshot(app: Service, req: Request) -> Response:
    """The 3D viewport as PNG in GUI mode; a quick render elsewhere (X-Screenshot-Source)."""
    from . import screenshot

    size = render_options.parse_query({k: v for k, v in req.query.items() if k in ("width", "height")})
    folder = scratch.create(app.files.root)
    path = folder / "screenshot.png"
    with scratch.removed_on_error(folder):
        shot = tasks.call(app, "screenshot",
                          lambda job: screenshot.capture(str(path), size.width, size.height, job.progress),
                          timeout=_timeout(req))
    return _scratch_file(path, folder, "image/png", {"X-Screenshot-Source": shot["source"]})


def post_export(app: Service, req: Request) -> Response:
    """The scene, or ?objects=A,B, as a glb, gltf, obj, fbx, stl or usd file."""
    from . import exchange

    fmt = exchange_formats.export_format(req.query.get("format"))
    names = exchange_formats.parse_names(req.query.get("objects"))
    folder = scratch.create(app.files.root)
    path = folder / f"scene{fmt.extension}"
    with scratch.removed_on_error(folder):
        tasks.call(app, "export", lambda job: exchange.export_file(fmt, names, str(path)),
                   timeout=_timeout(req))
    disposition = f'attachment; filename="scene{fmt.extension}"'
    return _scratch_file(path, folder, fmt.content_type, {"Content-Disposition": disposition})


def post_import(app: Service, req: Request) -> Response:
    """Import the body (a file's bytes; ?format= or ?filename=); answers the new objects."""
    from . import exchange

    filename = req.query.get("filename")
    format_name, extension = exchange_formats.import_format(req.query.get("format"), filename)
    folder = scratch.create(app.files.root)
    try:
        relative = (folder / (scratch.safe_stem(filename) + extension)).relative_to(app.files.root)
        path, size, _ = app.files.write(relative.as_posix(), req.iter_body(app.config.max_file_bytes),
                                        internal=True)
        if size == 0:
            raise HttpError(400, "the body is empty; send the file's bytes")
        names = tasks.call(app, "import", lambda job: exchange.import_file(format_name, str(path)),
                           timeout=_timeout(req))
    finally:
        scratch.remove(folder)
    return Response.json({"ok": True, "objects": names}, status=201)


def shutdown(app: Service, req: Request) -> Response:
    """Finish the running job, refuse the rest with 503, stop."""
    app.shutdown()
    return Response.json({"ok": True, "message": "shutting down"}, status=202)


ROUTES = (
    Route("GET", "/health", health, open=True),
    Route("POST", "/exec", exec_code),
    Route("POST", "/jobs", submit_job),
    Route("GET", "/jobs", list_jobs),
    Route("GET", "/jobs/{id}", get_job),
    Route("DELETE", "/jobs/{id}", cancel_job),
    Route("GET", "/jobs/{id}/events", job_events),
    Route("GET", "/sessions", list_sessions),
    Route("DELETE", "/sessions/{name}", delete_session),
    Route("GET", "/files", list_files),
    Route("GET", "/files/{path:path}", get_file),
    Route("PUT", "/files/{path:path}", put_file),
    Route("DELETE", "/files/{path:path}", delete_file),
    Route("POST", "/shutdown", shutdown),
    Route("GET", "/scene", get_scene),
    Route("GET", "/objects/{name}", get_object),
    Route("GET", "/objects/{name}/vertices", get_vertices),
    Route("POST", "/render", post_render),
    Route("GET", "/screenshot", get_screenshot),
    Route("POST", "/export", post_export),
    Route("POST", "/import", post_import),
)
_COMPILED = [(route, route.regex) for route in ROUTES]


def match(method: str, path: str) -> tuple[Route, dict[str, str]]:
    """The route for method and path; 404 for an unknown path, 405 for a wrong method."""
    allowed = []
    for route, regex in _COMPILED:
        found = regex.match(path)
        if found is None:
            continue
        if route.method == method or (method == "HEAD" and route.method == "GET") or method == "OPTIONS":
            return route, found.groupdict()
        allowed.append(route.method)
    if not allowed:
        raise HttpError(404, f"no route {path!r}")
    allow = ", ".join(sorted(set(allowed) | {"OPTIONS"}))
    raise HttpError(405, f"{method} is not allowed on {path}; use {allow}", headers={"Allow": allow})


def preflight(req: Request, route: Route, origin: str | None) -> Response:
    """OPTIONS: the methods of the path, and CORS answers for allowed origins."""
    methods = sorted({r.method for r, rx in _COMPILED if rx.match(req.path)} | {"OPTIONS"})
    headers = {"Allow": ", ".join(methods)}
    if origin:
        headers.update({
            "Access-Control-Allow-Methods": ", ".join(methods),
            "Access-Control-Allow-Headers": "Authorization, Content-Type, X-Request-ID, Last-Event-ID",
            "Access-Control-Max-Age": "600",
        })
    return Response(status=204, headers=headers)


# -- helpers --------------------------------------------------------------------

def exec_status(job: jobs.Job) -> int:
    """The HTTP status of a finished job's envelope."""
    if job.status == jobs.SUCCEEDED:
        return 200
    if job.status == jobs.TIMED_OUT:
        return 504
    error_type = (job.envelope or {}).get("error", {}).get("type")
    if job.status == jobs.CANCELLED:
        return 503 if error_type == "Unavailable" else 409
    return 500 if error_type == "InternalError" else 422


def exec_response(job: jobs.Job) -> Response:
    if job.binary is not None and job.status == jobs.SUCCEEDED:
        data, headers = job.binary
        return Response(body=data, content_type=OCTET, headers={**headers, "X-Job-Id": job.id})
    status = exec_status(job)
    return Response.json(job.envelope, status=status,
                         headers={"Retry-After": "5"} if status == 503 else {})


def _still_running(job: jobs.Job) -> Response:
    message = (f"the code ran past its timeout of {job.timeout:g} s and could not be interrupted "
               f"yet (a long C operator ends first); it is still running: see GET /jobs/{job.id}")
    return Response.json(failure_envelope(job, "Timeout", message, duration_ms=None), status=504)


def _sse(job: jobs.Job, start: int) -> Iterator[bytes]:
    yield b": stream of job " + job.id.encode() + b"\n\n"  # headers go out before any event
    for index, kind, data in job.events(start):
        if kind == "heartbeat":
            yield b": keep-alive\n\n"
            continue
        payload = {"text": data} if kind in ("stdout", "stderr") else data
        text = json.dumps(payload, separators=(",", ":"))
        yield f"id: {index}\nevent: {kind}\ndata: {text}\n\n".encode("ascii")


def _timeout(req: Request) -> float | None:
    return parse_timeout(req.query.get("timeout"))


def _scratch_file(path: Path, folder: Path, content_type: str, headers: dict[str, str]) -> Response:
    """A file Blender wrote for this request, sent and then removed with its folder."""
    try:
        stream = scratch.StreamThenRemove(path, folder)
    except OSError:
        scratch.remove(folder)
        raise HttpError(500, "the file Blender wrote is gone") from None
    return Response(content_type=content_type, stream=stream, length=stream.size, headers=headers)


def _read_file(handle: Any) -> Iterator[bytes]:
    with handle:
        while True:
            block = handle.read(256 * 1024)
            if not block:
                return
            yield block


def _int_query(req: Request, name: str, default: int, low: int, high: int) -> int:
    return int(_float_query(req, name, default, low, high))


def _float_query(req: Request, name: str, default: float, low: float, high: float) -> float:
    raw = req.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise HttpError(400, f"?{name}= must be a number") from None
    if not low <= value <= high:
        raise HttpError(400, f"?{name}= must be between {low:g} and {high:g}")
    return value
