"""One router per resource, as the add-on names them."""

from __future__ import annotations

from . import exec, files, jobs, scene, sessions, status

ROUTERS = (status.router, exec.router, jobs.router, sessions.router, files.router, scene.router)
