"""Start blender-http inside a Blender started by the CLI:

    blender [-b] [file.blend] --python launch.py

Settings come from BLENDER_HTTP_* variables. Under -b the main thread serves jobs
until shutdown, then Blender exits 0; with a window the add-on is enabled, a timer
serves them, and Blender quits after POST /shutdown (it was started to serve).
"""

import importlib.util
import os
import sys
from typing import Any

PACKAGE = "blender_http_addon"


def _load_package() -> object:
    # The folder is "addon_http" in a source tree and "blender_http_addon" in a wheel;
    # load it by location under its installed name so both work in any Blender.
    here = os.path.dirname(os.path.abspath(__file__))
    if PACKAGE in sys.modules:
        return sys.modules[PACKAGE]
    spec = importlib.util.spec_from_file_location(
        PACKAGE, os.path.join(here, "__init__.py"), submodule_search_locations=[here])
    assert spec is not None and spec.loader is not None
    module: Any = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = module
    spec.loader.exec_module(module)
    # addon_utils.enable() reloads a module whose __time__ differs from its file's mtime,
    # and a reload by name cannot find a package loaded by location.
    module.__time__ = os.path.getmtime(module.__file__)
    return module


def _reraise(exc: BaseException) -> None:
    raise exc


def main() -> None:
    import bpy

    _load_package()
    from blender_http_addon import blender, config

    try:
        settings = config.Config.from_env()
        if bpy.app.background:
            service = blender.create_service(settings, "background")
            service.start()
        else:
            import addon_utils

            from blender_http_addon import gui

            addon_utils.enable(PACKAGE, default_set=True, persistent=True, handle_error=_reraise)
            service = gui.start_server(settings)
            gui.quit_when_shut_down(service)  # `blender-http stop` ends this Blender
    except Exception as exc:  # any start failure: say why and exit non-zero
        print(f"blender-http: cannot start: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
    print(f"blender-http: listening on {service.url} ({service.mode})", flush=True)
    if bpy.app.background:
        from blender_http_addon.pumps import blocking

        blocking.run_blocking(service)
        sys.exit(0)


main()
