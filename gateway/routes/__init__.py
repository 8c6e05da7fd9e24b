"""One router per resource, as the add-on names them, and /mcp (`mcp.py`, included when
enabled); what the routes share: `deps.py` (the gateway, request bodies) and `openapi.py`
(documented bodies and error answers)."""

from __future__ import annotations

from . import exec, files, jobs, scene, sessions, status

ROUTERS = (status.router, exec.router, jobs.router, sessions.router, files.router, scene.router)
