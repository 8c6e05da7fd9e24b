"""Rendering the scene to a PNG file (POST /render, the /screenshot fallback). Main thread
only; every setting changed for the render is put back afterwards."""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import bpy

from ..errors import HttpError
from ..jobs.job import Job
from . import compat
from .render_options import RenderOptions
from .state import kept_attributes
from .written import check_png, incomplete

Progress = Callable[..., None]

# Render settings a render may change, put back afterwards.
_RENDER_SETTINGS = ("engine", "resolution_x", "resolution_y", "resolution_percentage", "filepath",
                    "use_file_extension", "use_border", "use_crop_to_border")
# Of a job's timeout, what a Cycles render leaves for writing its PNG and answering.
WRITE_ALLOWANCE_S = 0.25
MIN_TIME_LIMIT_S = 0.01
_IMAGE_SETTINGS = ("file_format", "color_mode", "color_depth", "compression")
# "Sample 80/4096" in an engine's render statistics (bpy.app.handlers.render_stats).
_SAMPLE = re.compile(r"\bSample (\d+)/(\d+)")


def render_png(options: RenderOptions, path: str, progress: Progress,
               deadline: float | None = None) -> dict[str, Any]:
    """Render the active scene as options say, write a PNG to path, and describe it.
    deadline (time.monotonic()): the job's end; Cycles stops sampling there (its time
    limit), since a running render is one C call that no interrupt can stop midway."""
    scene = bpy.context.scene
    engine = compat.engine_id(options.engine or scene.render.engine, compat.engines(scene))
    camera = _camera(scene, options.camera)
    settings = scene.render
    width = options.width or settings.resolution_x * settings.resolution_percentage // 100
    height = options.height or settings.resolution_y * settings.resolution_percentage // 100
    os.makedirs(os.path.dirname(path), exist_ok=True)
    progress(stage="preparing", fraction=0.0)
    started = time.perf_counter()
    with kept_attributes(settings, _RENDER_SETTINGS), \
            kept_attributes(settings.image_settings, _IMAGE_SETTINGS), \
            kept_attributes(scene, ("camera",)), \
            _kept_samples(scene, engine), _at_frame(scene, options.frame), \
            _stages(progress):
        settings.engine = engine
        settings.resolution_x, settings.resolution_y = width, height
        settings.resolution_percentage = 100
        settings.use_border = False
        settings.filepath = path
        settings.use_file_extension = False
        settings.image_settings.file_format = "PNG"
        settings.image_settings.color_mode = "RGBA"
        settings.image_settings.color_depth = "8"
        scene.camera = camera
        _apply_samples(scene, engine, options.samples)
        time_limit = _apply_time_limit(scene, engine, deadline)
        try:
            bpy.ops.render.render(write_still=True, scene=scene.name)
        except RuntimeError as exc:
            raise HttpError(422, f"the render failed: {exc}", type="RenderError") from None
    render_ms = (time.perf_counter() - started) * 1000.0
    if not os.path.isfile(path):
        error = incomplete(path, "the render wrote no image")
        raise error if error.status == 507 else HttpError(422, error.message, type="RenderError")
    try:
        size = check_png(path, "render")  # Blender says "Saved:" even on a full disk
    except HttpError:
        with contextlib.suppress(OSError):
            os.unlink(path)  # a truncated image is of no use to anyone
        raise
    progress(fraction=1.0)
    done = {"path": path, "width": width, "height": height, "size": size,
            "engine": engine, "render_ms": round(render_ms, 1)}
    if time_limit is not None:  # the render may have stopped sampling there
        done["time_limit_s"] = round(time_limit, 3)
    return done


def render_job_file(options: RenderOptions, root: str, job: Job) -> dict[str, Any]:
    """Render for a job that outlives its request: the PNG stays in the work folder as
    renders/<job>.png, and the job's result says where."""
    relative = f"renders/{job.id}.png"
    done = render_png(options, os.path.join(root, relative), job.progress, job.deadline)
    return {"path": relative, **{key: done[key] for key in ("width", "height", "size", "time_limit_s")
                                 if key in done}}


def _camera(scene: bpy.types.Scene, name: str | None) -> bpy.types.Object:
    cameras = sorted(obj.name for obj in scene.objects if obj.type == "CAMERA")
    listed = ", ".join(cameras) if cameras else "none: add one to the scene"
    if name is None:
        if scene.camera is None:
            raise HttpError(400, f"the scene has no active camera; pass \"camera\" (cameras: {listed})")
        return scene.camera
    obj = scene.objects.get(name)
    if obj is None or obj.type != "CAMERA":
        raise HttpError(400, f"no camera {name!r} in the scene; cameras: {listed}")
    return obj


@contextlib.contextmanager
def _kept_samples(scene: bpy.types.Scene, engine: str) -> Iterator[None]:
    if engine == "CYCLES":
        with kept_attributes(scene.cycles, ("samples", "use_denoising", "device", "time_limit")):
            yield
    elif compat.is_eevee(engine):
        with kept_attributes(scene.eevee, ("taa_render_samples",)):
            yield
    else:
        yield


def _apply_samples(scene: bpy.types.Scene, engine: str, samples: int | None) -> None:
    if engine == "CYCLES":
        import _cycles  # Cycles' own module, there whenever the engine is

        if not getattr(_cycles, "with_openimagedenoise", True):
            # Denoising is on in new scenes, and a build without the denoiser fails the render.
            scene.cycles.use_denoising = False
        if samples is not None:
            scene.cycles.samples = samples
    elif compat.is_eevee(engine) and samples is not None:
        scene.eevee.taa_render_samples = samples
    # Workbench has no sample count, only an anti-aliasing level: samples is ignored.


def _apply_time_limit(scene: bpy.types.Scene, engine: str, deadline: float | None) -> float | None:
    """Cycles samples until deadline at the latest (minus the time to write the PNG), so a
    render with a timeout ends by itself within it. EEVEE and Workbench have no time limit;
    their renders are bounded by MAX_RENDER_SAMPLES and MAX_RENDER_SIZE instead."""
    if engine != "CYCLES" or deadline is None:
        return None
    left = deadline - time.monotonic() - WRITE_ALLOWANCE_S
    # 0 means "no limit" to Cycles: a deadline already passed still gets the shortest render.
    limit = max(MIN_TIME_LIMIT_S, left)
    if scene.cycles.time_limit == 0 or limit < scene.cycles.time_limit:
        scene.cycles.time_limit = limit
    return float(scene.cycles.time_limit)


@contextlib.contextmanager
def _at_frame(scene: bpy.types.Scene, frame: int | None) -> Iterator[None]:
    if frame is None or frame == scene.frame_current:
        yield
        return
    original = scene.frame_current, scene.frame_subframe
    scene.frame_set(frame)
    try:
        yield
    finally:
        scene.frame_set(original[0], subframe=original[1])


@contextlib.contextmanager
def _stages(progress: Progress) -> Iterator[None]:
    """Progress events from Blender's render handlers while the render runs: its stages,
    and the sample count where the engine reports one in its statistics (Cycles does, from
    its render thread, while the blocking render runs)."""
    def rendering(*args: Any) -> None:
        progress(stage="rendering")

    def writing(*args: Any) -> None:
        progress(stage="writing")

    def statistics(*args: Any) -> None:
        found = _SAMPLE.search(str(args[0])) if args else None
        if found:
            progress(sample=int(found[1]), samples=int(found[2]))

    hooks = ((bpy.app.handlers.render_pre, rendering), (bpy.app.handlers.render_write, writing),
             (bpy.app.handlers.render_stats, statistics))
    for handlers, hook in hooks:
        handlers.append(hook)
    try:
        yield
    finally:
        for handlers, hook in hooks:
            if hook in handlers:
                handlers.remove(hook)
