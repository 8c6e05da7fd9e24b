"""The hot path's routes are found, and only routes it can call as FastAPI would."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from blender_http_gateway.forwarding.fastlane import lanes
from blender_http_gateway.routes import ROUTERS
from blender_http_gateway.routes.exec import exec_code
from blender_http_gateway.routes.jobs import submit_job


def test_exec_and_job_submission_take_the_fast_lane() -> None:
    found = lanes([route for router in ROUTERS for route in router.routes])
    assert {path: route.endpoint for path, route in found.items()} == {
        "/exec": exec_code, "/jobs": submit_job}


def test_a_route_with_other_parameters_is_left_to_fastapi() -> None:
    router = APIRouter()

    @router.post("/exec")
    async def with_header(request: Request, gateway: object, idempotency_key: str | None = None
                          ) -> Response:
        return Response()

    assert lanes(router.routes) == {}
