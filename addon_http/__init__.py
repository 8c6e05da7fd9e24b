"""blender-http: run Python inside a live Blender over HTTP.

This file only registers the add-on; nothing starts at import time. The HTTP server,
job queue and executor import without Blender (see service.py).
"""

# Parsed, not run, by Blender < 4.2: literals only.
bl_info = {
    "name": "blender-http",
    "author": "blender-http developers",
    "version": (0, 1, 0),
    "blender": (3, 4, 0),
    "location": "View3D > Sidebar > HTTP",
    "description": "Run Python in this Blender from anything that speaks HTTP",
    "category": "Development",
}


def register() -> None:
    from . import gui

    gui.register()


def unregister() -> None:
    from . import gui

    gui.unregister()
