"""Tools that look at or change the scene: each runs as a task on the main thread through
api.outcome.run_task (so it shares the queue, timeouts and cancel with the HTTP routes).
The scene modules import bpy, so they are imported where they are used."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..api.outcome import run_task
from ..errors import HttpError
from ..files import scratch
from ..protocol import (
    MAX_RENDER_SAMPLES,
    MAX_RENDER_SIZE,
    MAX_SCENE_PAGE,
    MAX_TIMEOUT_S,
    SESSION_NAME_PATTERN,
    SESSION_NAME_RULE,
)
from ..scene import exchange_formats
from ..scene.render_options import RenderOptions
from . import budget, results, tools
from .arguments import Arguments

if TYPE_CHECKING:
    from ..service import Service

Handler = Callable[["Service", Arguments], dict[str, Any]]


def blender_info(service: Service, args: Arguments) -> dict[str, Any]:
    from ..scene import agent

    info = _task(service, args, "info", lambda job: agent.info())
    return results.data({"mode": service.mode, **info})


def get_scene(service: Service, args: Arguments) -> dict[str, Any]:
    from ..scene import view

    limit = args.integer("limit", tools.SCENE_PAGE, 1, MAX_SCENE_PAGE) or tools.SCENE_PAGE
    offset = args.integer("offset", 0, 0, 2**31) or 0
    kind = args.text("type")
    listing = _task(service, args, "scene", lambda job: view.scene_listing(limit, offset, kind))
    return results.data(_fitting_page(listing, args.budget()))


def _fitting_page(listing: dict[str, Any], max_chars: int) -> dict[str, Any]:
    """The listing with as many of its objects as fit max_chars (at least one), and where
    the next page starts."""
    objects = listing.pop("objects")
    room = max_chars - len(budget.dumps(listing)) - 64  # "objects", "next_offset" and a number
    kept = 0
    for obj in objects:
        room -= len(budget.dumps(obj)) + 1
        if room < 0 and kept:
            break
        kept += 1
    end = listing["offset"] + kept
    return {**listing, "objects": objects[:kept], "next_offset": end if end < listing["total"] else None}


def get_object(service: Service, args: Arguments) -> dict[str, Any]:
    from ..scene import view

    name = args.required_text("name")
    return results.data(_task(service, args, "object", lambda job: view.details(name)))


def get_context(service: Service, args: Arguments) -> dict[str, Any]:
    from ..scene import agent

    return results.data(_task(service, args, "context", lambda job: agent.context()))


def screenshot(service: Service, args: Arguments) -> dict[str, Any]:
    from ..scene import agent
    from ..scene import screenshot as shot

    max_size = _max_size(args)
    views, area = _views(args), args.text("area")
    if views is not None and area is not None:
        raise HttpError(400, "screenshot: give 'views' or 'area', not both")

    def capture(folder: Path) -> dict[str, Any]:
        def work(job: Any) -> dict[str, Any]:
            if views is not None or area is not None:
                done = _other_picture(views, area, max_size, folder, job)
                small = agent.fit_png({**done, "max_size": max_size}, str(folder / "shot.png"),
                                      str(folder / "small.png"), tools.MAX_IMAGE_BYTES)
                return {**done, **small}
            width, height = agent.screenshot_size(max_size)
            done = shot.capture(str(folder / "shot.png"), width, height, job.progress)
            return agent.fit_png(done, str(folder / "shot.png"), str(folder / "small.png"),
                                 tools.MAX_IMAGE_BYTES)
        return dict(_task(service, args, "screenshot", work))

    return _image_in_scratch(service, capture)


def _views(args: Arguments) -> list[str] | None:
    from ..scene.directions import VIEWS

    views = args.names("views")
    if views is None:
        return None
    wrong = [name for name in views if name not in VIEWS]
    if not views or wrong or len(set(views)) != len(views):
        raise HttpError(400, f"screenshot: 'views' must list some of {', '.join(VIEWS)}, each once"
                             + (f" (not {', '.join(repr(name) for name in wrong)})" if wrong else ""))
    return views


def _other_picture(views: list[str] | None, area: str | None, max_size: int, folder: Path,
                   job: Any) -> dict[str, Any]:
    """The contact sheet of views, or the picture of one area."""
    if views is not None:
        from ..scene import views as sides

        return sides.contact_sheet_png(views, max_size, str(folder / "shot.png"), str(folder),
                                       job.progress)
    from ..scene import area_shot

    assert area is not None
    return area_shot.capture(area, str(folder / "shot.png"))


def render(service: Service, args: Arguments) -> dict[str, Any]:
    from ..scene import agent
    from ..scene import render as rendering

    options = RenderOptions(
        engine=(args.text("engine") or "").upper() or None,
        width=args.integer("width", None, 1, MAX_RENDER_SIZE),
        height=args.integer("height", None, 1, MAX_RENDER_SIZE),
        samples=args.integer("samples", None, 1, MAX_RENDER_SAMPLES),
        camera=args.text("camera"), frame=args.integer("frame", None, -2**30, 2**30))
    max_size = _max_size(args)
    root = service.files.root

    def capture(folder: Path) -> dict[str, Any]:
        def work(job: Any) -> dict[str, Any]:
            done = rendering.render_job_file(options, str(root), job)
            small = agent.fit_png({**done, "max_size": max_size}, str(root / done["path"]),
                                  str(folder / "small.png"), tools.MAX_IMAGE_BYTES)
            return {**small, **done}
        return dict(_task(service, args, "render", work))

    return _image_in_scratch(service, capture, kept="the full render (PNG)")


def inspect(service: Service, args: Arguments) -> dict[str, Any]:
    from ..scene import inspection

    names = args.names("objects")
    kind = args.text("type")
    limit = args.integer("limit", tools.INSPECT_PAGE, 1, MAX_SCENE_PAGE) or tools.INSPECT_PAGE
    offset = args.integer("offset", 0, 0, 2**31) or 0
    found = _task(service, args, "inspect", lambda job: inspection.inspect(names, kind, limit, offset))
    return results.data(_fitting_page(found, args.budget()))


def checkpoint(service: Service, args: Arguments) -> dict[str, Any]:
    from ..scene import checkpoints

    name = _checkpoint_name(args, required=False) or checkpoints.new_name()
    root = str(service.files.root)
    return results.data(_task(service, args, "checkpoint", lambda job: checkpoints.save(root, name)))


def restore_checkpoint(service: Service, args: Arguments) -> dict[str, Any]:
    from ..scene import checkpoints

    name = _checkpoint_name(args, required=True)
    assert name is not None
    root = str(service.files.root)
    return results.data(_task(service, args, "restore_checkpoint",
                              lambda job: checkpoints.restore(root, name)))


def _checkpoint_name(args: Arguments, *, required: bool) -> str | None:
    name = args.text("name", required=required)
    # A leading dot is left out: the folder's hidden files are checkpoints being written.
    if name is not None and (not SESSION_NAME_PATTERN.fullmatch(name) or name.startswith(".")):
        raise HttpError(400, f"{args.tool}: 'name' must be {SESSION_NAME_RULE}, not starting with '.'")
    return name


def _task(service: Service, args: Arguments, name: str, fn: Callable[[Any], Any]) -> Any:
    """run_task, on this very thread when the call is served on the main thread, with the
    call's `timeout` (the tools whose work can be long take one); the call follows its job
    (a client's cancel stops it, its progress reads it)."""
    return run_task(service, name, fn, timeout=args.number("timeout", None, 1e-3, MAX_TIMEOUT_S),
                    inline=args.inline, on_submit=args.submitted)


def _max_size(args: Arguments) -> int:
    return args.integer("max_size", tools.DEFAULT_IMAGE_SIZE, 16, tools.MAX_IMAGE_SIZE) \
        or tools.DEFAULT_IMAGE_SIZE


def _image_in_scratch(service: Service, capture: Callable[[Path], dict[str, Any]],
                      kept: str | None = None) -> dict[str, Any]:
    """Image content from a PNG a task wrote into a scratch folder (removed afterwards);
    kept: what the work-folder file the task also wrote (its path, size) is, to link it."""
    folder = scratch.create(service.files.root)
    try:
        done = capture(folder)
        png = Path(done.pop("image")).read_bytes()
    finally:
        scratch.remove(folder)
    if kept is None:
        return results.image(png, done)
    return results.with_file(results.image(png, done), done["path"], done["size"], kept)


def export_scene(service: Service, args: Arguments) -> dict[str, Any]:
    from ..scene import exchange

    fmt = exchange_formats.export_format(args.required_text("format"))
    names = args.names("objects")
    relative = args.text("path") or f"exports/scene{fmt.extension}"
    try:
        target: Path | None = service.files.resolve(relative)
    except HttpError as exc:
        if exc.status != 404:  # 404: a folder on the way is missing, and write makes it
            raise
        target = None
    if target is not None and target.is_dir():
        raise HttpError(400, f"{relative} is a folder")
    folder = scratch.create(service.files.root)
    try:
        written = folder / f"scene{fmt.extension}"
        _task(service, args, "export", lambda job: exchange.export_file(fmt, names, str(written)))
        path, size, _ = service.files.write(relative, _chunks(written))
    finally:
        scratch.remove(folder)
    relative = path.relative_to(service.files.root).as_posix()
    return results.with_file(results.data({"path": relative, "size": size, "format": fmt.name}),
                             relative, size, f"the exported {fmt.name} file")


def import_file(service: Service, args: Arguments) -> dict[str, Any]:
    from ..scene import exchange

    relative = args.required_text("path")
    format_name, _ = exchange_formats.import_format(args.text("format"), relative)
    path = service.files.resolve(relative)
    if not path.is_file():
        raise HttpError(404, f"no file {relative!r} in the work folder; upload it with write_file")
    names = _task(service, args, "import", lambda job: exchange.import_file(format_name, str(path)))
    return results.data({"objects": names})


def search_api(service: Service, args: Arguments) -> dict[str, Any]:
    from ..scene import rna

    query = args.required_text("query")
    if len(query) > tools.MAX_QUERY_CHARS or len(query.split()) > tools.MAX_QUERY_WORDS:
        raise HttpError(400, f"search_api: a query is at most {tools.MAX_QUERY_WORDS} words and "
                             f"{tools.MAX_QUERY_CHARS} characters; search for fewer words")
    limit = args.integer("limit", 10, 1, 50) or 10
    return results.data(_task(service, args, "search_api", lambda job: rna.search(query, limit)))


def describe_api(service: Service, args: Arguments) -> dict[str, Any]:
    from ..scene import rna

    name = args.required_text("name")
    if len(name) > tools.MAX_API_NAME_CHARS:
        raise HttpError(400, f"describe_api: a name is at most {tools.MAX_API_NAME_CHARS} characters")
    return results.data(_task(service, args, "describe_api", lambda job: rna.describe(name)))


def _chunks(path: Path) -> Any:
    with path.open("rb") as handle:
        while block := handle.read(256 * 1024):
            yield block


HANDLERS: dict[str, Handler] = {
    "blender_info": blender_info, "get_scene": get_scene, "get_object": get_object,
    "get_context": get_context, "screenshot": screenshot, "render": render,
    "export_scene": export_scene, "import_file": import_file,
    "search_api": search_api, "describe_api": describe_api,
    "inspect": inspect, "checkpoint": checkpoint, "restore_checkpoint": restore_checkpoint,
}
