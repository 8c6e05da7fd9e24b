"""One router per resource, as the add-on names them, and /mcp (`mcp.py`, included when
enabled); what the routes share: `deps.py` (the gateway, request bodies) and `openapi.py`
(documented bodies and error answers)."""

from __future__ import annotations

from blender_http_addon.protocol import EXEC, JOBS

from . import exec, files, jobs, scene, sessions, status
from .deps import whole_body

ROUTERS = (status.router, exec.router, jobs.router, sessions.router, files.router, scene.router)
# The hot path's routes, by path: what each forwards of a body read whole (serving/lane.py
# calls these beneath ASGI; the routes call the same forwarding for any other request).
WHOLE_BODY_FORWARDS = {EXEC: whole_body(exec.exec_forward), JOBS: whole_body(jobs.job_forward)}
