"""Routes for the scene: listing, objects, vertices, render, screenshot, export, import.

Their work runs on the main thread as tasks (outcome.run_task). The modules doing that
work import bpy, so they are imported where they are used: the route table must import
without Blender.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import HttpError
from ..files import scratch
from ..http.request import Request
from ..http.response import Response
from ..jobs.work import Task
from ..protocol import MAX_SCENE_PAGE, OCTET
from ..scene import exchange_formats, render_options
from .outcome import run_task
from .queries import int_query, timeout_query

if TYPE_CHECKING:
    from ..service import Service


def get_scene(service: Service, req: Request) -> Response:
    """Scene settings and one page of its objects (?limit=, ?offset=, ?type=MESH)."""
    # The query is checked before the bpy-importing module is loaded: a bad one is the
    # caller's 400 wherever it is asked, Blender or not.
    limit = int_query(req, "limit", 100, 1, MAX_SCENE_PAGE)
    offset = int_query(req, "offset", 0, 0, 2**31)
    kind = req.query.get("type") or None
    timeout = timeout_query(req)
    from ..scene import view

    return Response.json(run_task(service, "scene", lambda job: view.scene_listing(limit, offset, kind),
                                  timeout=timeout))


def get_object(service: Service, req: Request) -> Response:
    """One object in full: transform, modifiers, materials, mesh counts, custom properties."""
    from ..scene import view

    name = req.params["name"]
    return Response.json(run_task(service, "object", lambda job: view.details(name),
                                  timeout=timeout_query(req)))


def get_vertices(service: Service, req: Request) -> Response:
    """A mesh's vertex coordinates (?space=local|world): float32 (N, 3) bytes with
    Accept: application/octet-stream, else JSON."""
    from ..scene import view

    name, space = req.params["name"], req.query.get("space") or "local"
    if space not in ("local", "world"):
        raise HttpError(400, "?space= must be local or world")
    coords = run_task(service, "vertices", lambda job: view.vertices(name, space), timeout=timeout_query(req))
    count = len(coords) // 3
    if req.accepts(OCTET):
        if sys.byteorder == "big":
            coords.byteswap()
        return Response(body=coords.tobytes(), content_type=OCTET,
                        headers={"X-Result-Dtype": "<f4", "X-Result-Shape": f"{count},3"})
    values = coords.tolist()
    return Response.json({"ok": True, "count": count,
                          "vertices": [values[i:i + 3] for i in range(0, len(values), 3)]})


def post_render(service: Service, req: Request) -> Response:
    """Render the scene to a PNG; with Prefer: respond-async, a job whose result is the
    file renders/<job>.png in the work folder."""
    from ..scene import render

    options = render_options.parse_body(req.body())
    timeout = timeout_query(req)
    if "respond-async" in req.headers.get("Prefer", "").lower():
        root = str(service.files.root)
        task = Task("render", lambda job: render.render_job_file(options, root, job))
        job = service.submit(task, timeout=timeout)
        return Response.json(job.view(), status=202, headers={"Location": f"/jobs/{job.id}"})
    folder = scratch.create(service.files.root)
    path = folder / "render.png"
    with scratch.removed_on_error(folder):
        done = run_task(service, "render", lambda job: render.render_png(options, str(path), job.progress,
                                                                           job.deadline),
                        timeout=timeout)
    return _scratch_file(path, folder, "image/png", {"X-Render-Engine": done["engine"],
                                                     "X-Render-Ms": str(done["render_ms"])})


def get_screenshot(service: Service, req: Request) -> Response:
    """The 3D viewport as PNG in GUI mode; a quick render elsewhere (X-Screenshot-Source)."""
    from ..scene import screenshot

    size = render_options.parse_query({k: v for k, v in req.query.items() if k in ("width", "height")})
    folder = scratch.create(service.files.root)
    path = folder / "screenshot.png"
    with scratch.removed_on_error(folder):
        shot = run_task(service, "screenshot",
                        lambda job: screenshot.capture(str(path), size.width, size.height, job.progress),
                        timeout=timeout_query(req))
    return _scratch_file(path, folder, "image/png", {"X-Screenshot-Source": shot["source"]})


def post_export(service: Service, req: Request) -> Response:
    """The scene, or ?objects=A,B, as a glb, gltf, obj, fbx, stl or usd file."""
    from ..scene import exchange

    fmt = exchange_formats.export_format(req.query.get("format"))
    names = exchange_formats.parse_names(req.query.get("objects"))
    folder = scratch.create(service.files.root)
    path = folder / f"scene{fmt.extension}"
    with scratch.removed_on_error(folder):
        run_task(service, "export", lambda job: exchange.export_file(fmt, names, str(path)),
                 timeout=timeout_query(req))
    disposition = f'attachment; filename="scene{fmt.extension}"'
    return _scratch_file(path, folder, fmt.content_type, {"Content-Disposition": disposition})


def post_import(service: Service, req: Request) -> Response:
    """Import the body (a file's bytes; ?format= or ?filename=); answers the new objects."""
    from ..scene import exchange

    filename = req.query.get("filename")
    format_name, extension = exchange_formats.import_format(req.query.get("format"), filename)
    folder = scratch.create(service.files.root)
    try:
        relative = (folder / (scratch.safe_stem(filename) + extension)).relative_to(service.files.root)
        path, size, _ = service.files.write(relative.as_posix(), req.iter_body(service.config.max_file_bytes),
                                            internal=True)
        if size == 0:
            raise HttpError(400, "the body is empty; send the file's bytes")
        names = run_task(service, "import", lambda job: exchange.import_file(format_name, str(path)),
                         timeout=timeout_query(req))
    finally:
        scratch.remove(folder)
    return Response.json({"ok": True, "objects": names}, status=201)


def _scratch_file(path: Path, folder: Path, content_type: str, headers: dict[str, str]) -> Response:
    """A file Blender wrote for this request, sent and then removed with its folder."""
    try:
        stream = scratch.StreamThenRemove(path, folder)
    except OSError:
        scratch.remove(folder)
        raise HttpError(500, "the file Blender wrote is gone") from None
    return Response(content_type=content_type, stream=stream, length=stream.size, headers=headers)
