"""Cycles on the GPU for a worker (BLENDER_HTTP_CYCLES_DEVICE): the device type in Cycles'
preferences, every device of that type on (the CPU off), and the device of every scene
"GPU", now and in every .blend opened later (a .blend brings its own scenes, whose device
is the CPU unless it was saved otherwise). Without a device of that type the server does not
start: a GPU worker quietly rendering on its CPU is what the setting is there to prevent.

Blender's GUI saves changed preferences when it quits (Auto-Save Preferences, on by
default), and these are the user's own: the change does not mark them changed (they are
saved with it only when they were changed already or are changed later), and a refused
start puts the device type back: a server that could not start leaves no device type of
its own in them."""

from __future__ import annotations

from typing import Any

import bpy
from bpy.app.handlers import persistent


class GpuUnavailable(Exception):
    """This Blender cannot render on the GPU type asked for."""


def use(device_type: str) -> list[str]:
    """Render with Cycles on the devices of device_type (one of config.CYCLES_DEVICES);
    their names. Raises GpuUnavailable when this Blender has no such device."""
    user_preferences = bpy.context.preferences
    was_dirty = user_preferences.is_dirty
    preferences = _cycles_preferences()
    before = preferences.compute_device_type
    try:
        return _use(preferences, device_type.upper())
    except GpuUnavailable:
        preferences.compute_device_type = before
        raise
    finally:
        user_preferences.is_dirty = was_dirty


def _use(preferences: Any, device_type: str) -> list[str]:
    setting = f"BLENDER_HTTP_CYCLES_DEVICE={device_type}"
    try:
        preferences.compute_device_type = device_type
    except TypeError:
        raise GpuUnavailable(f"{setting}: this Blender's Cycles has no {device_type} devices on "
                             "this platform") from None
    preferences.get_devices()  # finds them now (the list is empty until asked)
    found = [device for device in preferences.devices if device.type == device_type]
    if not found:
        seen = ", ".join(f"{device.name} ({device.type})" for device in preferences.devices) or "none"
        raise GpuUnavailable(f"{setting}: no {device_type} device found (devices: {seen}); check "
                             "the GPU driver and that the container sees the GPU")
    for device in preferences.devices:
        device.use = device.type == device_type
    keep_scenes_on_gpu()
    return [device.name for device in found]


def keep_scenes_on_gpu() -> None:
    """Every scene's Cycles device "GPU", now and after each file load."""
    _scenes_on_gpu()
    if _scenes_on_gpu not in bpy.app.handlers.load_post:
        bpy.app.handlers.load_post.append(_scenes_on_gpu)


@persistent  # kept across file loads, which drop handlers that are not
def _scenes_on_gpu(*_: Any) -> None:
    for scene in bpy.data.scenes:
        scene.cycles.device = "GPU"


def _cycles_preferences() -> Any:
    addon = bpy.context.preferences.addons.get("cycles")
    if addon is None:  # off in this Blender's preferences
        import addon_utils

        addon_utils.enable("cycles", default_set=True)
        addon = bpy.context.preferences.addons["cycles"]
    return addon.preferences
