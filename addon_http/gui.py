"""GUI mode: add-on preferences, the N-panel, start/stop operators, and the running service."""


import logging
import os
import time

import bpy

from . import blender
from .config import Config, ConfigError
from .pumps.timer import TimerPump
from .service import Service

log = logging.getLogger("blender_http")

_running: tuple[Service, TimerPump] | None = None


def _package() -> str:
    # "blender_http_addon" as a legacy add-on, "bl_ext.<repo>.blender_http" as an extension.
    return __package__ or "blender_http_addon"


def preferences() -> "BlenderHttpPreferences | None":
    addon = bpy.context.preferences.addons.get(_package())
    return addon.preferences if addon is not None else None


def config_from_preferences() -> Config:
    """Preferences first, then BLENDER_HTTP_* variables over them."""
    prefs = preferences()
    base = Config()
    if prefs is not None:
        base = Config(host=prefs.host, port=prefs.port, token=prefs.token or None)
    return Config.from_env(base=base)


def current() -> Service | None:
    """The service this Blender runs, if it is up."""
    if _running is None or _running[0].should_exit.is_set():
        return None
    return _running[0]


def start_server(config: Config) -> Service:
    """Start serving; jobs run from a persistent timer on the main thread."""
    global _running
    if bpy.app.background:
        # Timers never fire without a window: the jobs would wait forever.
        raise ConfigError("no window, so no timer can run jobs: in background or module mode "
                          "start the server with `blender-http start --background` or "
                          "`blender-http serve`")
    stop_server()
    service = blender.create_service(config, "gui")
    service.start(announce=False)
    pump = TimerPump(service)
    pump.attach()
    _running = (service, pump)
    bpy.app.timers.register(_Announcer(service), first_interval=0.0)
    log.info("blender-http listening on %s", service.url)
    return service


def quit_when_shut_down(service: Service) -> None:
    """Quit Blender once `service` has stopped after POST /shutdown (or SIGTERM): for a
    Blender that `blender-http start` launched, whose window exists only to serve. Stopped
    from the panel or by disabling the add-on, it keeps running."""

    def check() -> float | None:
        if not service.stopped.is_set():
            return 0.1
        if _running is not None and _running[0] is service:  # not stop_server(): a shutdown
            bpy.ops.wm.quit_blender()
        return None

    bpy.app.timers.register(check, first_interval=0.1, persistent=True)


class _Announcer:
    """A timer that writes the ready file (what `blender-http start` waits for) once
    Blender's event loop turns freely. Started from the command line, /health answers
    seconds before that: the first turns draw the window (in software GL, one to four
    seconds each), and a job sent then waited for them."""

    QUICK_S = 0.05  # an idle turn takes ~5 ms
    QUICK_TURNS = 3

    def __init__(self, service: Service) -> None:
        self.service = service
        self.last = 0.0
        self.quick = 0

    def __call__(self) -> float | None:
        if self.service.should_exit.is_set():
            return None
        now = time.monotonic()
        self.quick = self.quick + 1 if now - self.last < self.QUICK_S else 0
        self.last = now
        if self.quick < self.QUICK_TURNS:
            return 0.0
        self.service.announce()
        return None


def stop_server() -> None:
    global _running
    if _running is None:
        return
    service, pump = _running
    _running = None
    pump.detach()
    service.stop()


def online_access_allowed() -> bool:
    # Blender 4.2+ asks add-ons that use the network to honour this switch.
    return bool(getattr(bpy.app, "online_access", True))


class BlenderHttpPreferences(bpy.types.AddonPreferences):
    bl_idname = _package()

    host: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Host", default="127.0.0.1",
        description="Address to listen on; anything but loopback needs a token")
    port: bpy.props.IntProperty(  # type: ignore[valid-type]
        name="Port", default=7777, min=0, max=65535, description="0 picks a free port")
    token: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Token", default="", subtype="PASSWORD",
        description="Bearer token every request but /health must carry (empty: none)")
    auto_start: bpy.props.BoolProperty(  # type: ignore[valid-type]
        name="Start with Blender", default=False,
        description="Start the server when the add-on loads (needs online access on 4.2+)")

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        layout.prop(self, "host")
        layout.prop(self, "port")
        layout.prop(self, "token")
        layout.prop(self, "auto_start")


class BLENDER_HTTP_OT_start(bpy.types.Operator):
    """Start the HTTP server of blender-http"""

    bl_idname = "blender_http.start"
    bl_label = "Start Server"

    def execute(self, context: bpy.types.Context) -> set[str]:
        try:
            service = start_server(config_from_preferences())
        except (ConfigError, OSError) as exc:
            self.report({"ERROR"}, f"blender-http: {exc}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"blender-http listening on {service.url}")
        return {"FINISHED"}


class BLENDER_HTTP_OT_stop(bpy.types.Operator):
    """Stop the HTTP server of blender-http"""

    bl_idname = "blender_http.stop"
    bl_label = "Stop Server"

    def execute(self, context: bpy.types.Context) -> set[str]:
        stop_server()
        return {"FINISHED"}


class BLENDER_HTTP_PT_panel(bpy.types.Panel):
    bl_label = "blender-http"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "HTTP"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        service = current()
        if service is None:
            layout.label(text="Stopped", icon="CANCEL")
            try:  # where Start would listen, before it is pressed
                config = config_from_preferences()
                layout.label(text=f"Start listens on {config.host}:{config.port}", icon="URL")
            except ConfigError as exc:
                layout.label(text=str(exc), icon="ERROR")
            layout.operator(BLENDER_HTTP_OT_start.bl_idname, icon="PLAY")
            return
        health = service.health()
        layout.label(text=service.url, icon="URL")
        layout.label(text=f"{'busy' if health['busy'] else 'idle'}, {health['queued']} queued")
        if service.config.token:
            layout.label(text="Token required", icon="LOCKED")
        layout.operator(BLENDER_HTTP_OT_stop.bl_idname, icon="PAUSE")


CLASSES = (BlenderHttpPreferences, BLENDER_HTTP_OT_start, BLENDER_HTTP_OT_stop, BLENDER_HTTP_PT_panel)


def _autostart() -> None:
    prefs = preferences()
    wanted = os.environ.get("BLENDER_HTTP_AUTOSTART") == "1" or (prefs is not None and prefs.auto_start)
    if not wanted or current() is not None:
        return None
    if not online_access_allowed():
        print("blender-http: not starting: online access is disabled in Blender's preferences")
        return None
    try:
        start_server(config_from_preferences())
    except (ConfigError, OSError) as exc:
        print(f"blender-http: cannot start: {exc}")
    return None


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    if not bpy.app.background:
        # Preferences are readable only once registration has finished.
        bpy.app.timers.register(_autostart, first_interval=0.1)


def unregister() -> None:
    stop_server()
    if bpy.app.timers.is_registered(_autostart):
        bpy.app.timers.unregister(_autostart)
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
