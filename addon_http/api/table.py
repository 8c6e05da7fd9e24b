"""The route table: every route of the API in one place."""

from __future__ import annotations

from .. import protocol as p
from . import exec_routes as x
from . import file_routes as f
from . import mcp_route as m
from . import scene_routes as s
from .routing import Route

ROUTES = (
    Route("GET", p.HEALTH, x.health, open=True),
    Route("POST", p.EXEC, x.exec_code),
    Route("POST", p.JOBS, x.submit_job),
    Route("GET", p.JOBS, x.list_jobs),
    Route("GET", p.JOB, x.get_job),
    Route("DELETE", p.JOB, x.cancel_job),
    Route("GET", p.JOB_EVENTS, x.job_events),
    Route("GET", p.SESSIONS, x.list_sessions),
    Route("DELETE", p.SESSION, x.delete_session),
    Route("GET", p.FILES, f.list_files),
    Route("GET", p.FILE, f.get_file),
    Route("PUT", p.FILE, f.put_file),
    Route("DELETE", p.FILE, f.delete_file),
    Route("POST", p.SHUTDOWN, x.shutdown),
    Route("GET", p.SCENE, s.get_scene),
    Route("GET", p.OBJECT, s.get_object),
    Route("GET", p.VERTICES, s.get_vertices),
    Route("POST", p.RENDER, s.post_render),
    Route("GET", p.SCREENSHOT, s.get_screenshot),
    Route("POST", p.EXPORT, s.post_export),
    Route("POST", p.IMPORT, s.post_import),
    Route("POST", p.MCP, m.post_mcp),
)
