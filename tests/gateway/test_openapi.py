"""/openapi.json is complete and true: schemathesis calls every operation of the real gateway
(in front of a real worker) and checks that no answer is a 5xx and every one matches its schema."""

from __future__ import annotations

from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from blender_http_addon.protocol import IDEMPOTENCY_KEY_REUSED, JOBS
from tests.gateway import gateways
from tests.gateway.conftest import KEY


def test_every_route_of_the_addon_is_typed(client: httpx.Client) -> None:
    document = client.get("/openapi.json").json()
    operations = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    for expected in [("POST", "/exec"), ("POST", "/jobs"), ("GET", "/jobs"), ("GET", "/jobs/{job_id}"),
                     ("DELETE", "/jobs/{job_id}"), ("GET", "/jobs/{job_id}/events"),
                     ("GET", "/sessions"), ("DELETE", "/sessions/{name}"), ("GET", "/files"),
                     ("GET", "/files/{path}"), ("PUT", "/files/{path}"), ("DELETE", "/files/{path}"),
                     ("GET", "/scene"), ("GET", "/objects/{name}"), ("GET", "/objects/{name}/vertices"),
                     ("POST", "/render"), ("GET", "/screenshot"), ("POST", "/export"),
                     ("POST", "/import"), ("GET", "/health"), ("GET", "/metrics")]:
        assert expected in operations, expected
    exec_op = document["paths"]["/exec"]["post"]
    body = exec_op["requestBody"]["content"]
    assert body["application/json"]["examples"]["example1"]["value"]["code"]
    assert "text/plain" in body
    assert exec_op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("ExecResult")
    assert exec_op["security"] == [{"bearer": []}]
    assert document["paths"]["/health"]["get"]["security"] == []
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "HTTPValidationError" not in str(document)
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation.get("summary"), (method, path)


# Rendering at sizes a fuzzer picks would take minutes: /render and /screenshot are tested with
# chosen values in test_scene.py.
SKIPPED = {"/render", "/screenshot"}
EXAMPLES_PER_OPERATION = 20
# Random text is rarely Python (422 is the right answer), random bytes never a model file and
# random names never an object (400): "schema-valid data must be accepted" cannot hold there.
LENIENT = {path: [positive_data_acceptance] for path in ("/exec", "/import", "/export")}


def test_the_gateway_answers_as_its_schema_says(gateway: gateways.Gateway) -> None:
    schema = schemathesis.openapi.from_url(gateway.url + "/openapi.json")
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]
        if operation.path in SKIPPED:
            continue
        _fuzz(operation, LENIENT.get(operation.path, []))
        tested.append(f"{operation.method.upper()} {operation.path}")
    assert len(tested) >= 19, tested


def _fuzz(operation: Any, lenient: list[Any]) -> None:
    """Call one operation with generated requests; every answer must match the schema."""
    headers = {"Authorization": f"Bearer {KEY}"}

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck), database=None)
    def call(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, excluded_checks=lenient)

    call()


def _document() -> dict[str, Any]:
    from blender_http_gateway.app import create_app
    from blender_http_gateway.settings import GatewaySettings

    app = create_app(GatewaySettings(backends=["http://127.0.0.1:1"], api_keys=[KEY]))
    document: dict[str, Any] = app.openapi()
    return document


def test_each_error_status_shows_its_own_example() -> None:
    """Swagger UI shows the example of each answer: an error status's own, never the exec
    envelope of a NameError for a 401 or a 503."""
    for path, item in _document()["paths"].items():
        for method, operation in item.items():
            for status, answer in operation["responses"].items():
                content = answer.get("content", {}).get("application/json", {})
                if not status.startswith(("4", "5")) or "ErrorResponse" not in str(content):
                    continue  # /health's 503 is its own document
                example = content.get("example")
                assert example is not None, (method, path, status)
                kind = example["error"]["type"]
                if status == "422":  # POST /jobs runs nothing before it answers: its 422 is a key's
                    assert kind == (IDEMPOTENCY_KEY_REUSED if path == JOBS else "NameError"), (method, path)
                else:
                    assert kind != "NameError", (method, path, status)
                if status in ("401", "503", "400", "502"):
                    assert kind == {"401": "Unauthorized", "503": "Unavailable", "400": "BadRequest",
                                    "502": "BadGateway"}[status], (method, path, status)


def test_image_routes_answer_png_only_and_exec_409_is_a_cancel() -> None:
    paths = _document()["paths"]
    for path, method in (("/render", "post"), ("/screenshot", "get")):
        assert list(paths[path][method]["responses"]["200"]["content"]) == ["image/png"], path
    conflict = paths["/exec"]["post"]["responses"]["409"]
    assert conflict["content"]["application/json"]["example"]["error"]["type"] == "Cancelled"
    assert "DELETE /jobs" in conflict["description"]
    assert "422" not in paths["/render"]["post"]["responses"]  # a task never answers 422
