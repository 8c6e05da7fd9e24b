"""Binary arguments (multipart/form-data) through the gateway: streamed to the worker, the
session found in the `request` part, and the form described in OpenAPI."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from blender_http import Blender
from blender_http_addon.protocol import MULTIPART, OCTET
from blender_http_gateway.routes.deps import MAX_BUFFERED_BODY, form_session
from tests.blender import servers
from tests.gateway import gateways, swagger
from tests.gateway.conftest import KEY, WORKER_TOKEN


@pytest.fixture
def blender(gateway: gateways.Gateway) -> Iterator[Blender]:
    with Blender(gateway.url, token=KEY) as client:
        yield client


def test_client_arrays_through_the_gateway(blender: Blender) -> None:
    points = np.random.default_rng(2).random((2000, 3), dtype=np.float32)
    code = "float(args['p'].sum()), args['p'].shape, len(args['raw'])"
    result = blender.exec(code, args={"p": points, "raw": b"\x00" * 10}).result
    assert result == [pytest.approx(float(points.sum()), rel=1e-5), [2000, 3], 10]
    job = blender.submit("args['p'].dtype.str", args={"p": points})
    assert job.result().result == "<f4"


def test_curl_style_form_with_query_session(gateway: gateways.Gateway) -> None:
    with gateway.client() as client:
        files = [("code", (None, b"kept = bytes(args['f'])\nlen(kept)")), ("f", ("f.bin", b"abc"))]
        response = client.post("/exec?session=gw-form", files=files)
        assert response.status_code == 200, response.text
        assert client.post("/exec?session=gw-form", content=b"kept").json()["result"] == {"$bytes": "YWJj"}


def test_a_form_over_the_gateways_buffer_limit_streams_through(gateway: gateways.Gateway) -> None:
    big = b"\x01" * (MAX_BUFFERED_BODY + 1024 * 1024)
    with gateway.client() as client:
        response = client.post("/exec", files=[("code", (None, b"len(args['big'])")), ("big", (None, big))],
                               timeout=120)
    assert response.status_code == 200, response.text
    assert response.json()["result"] == len(big)


def test_sessions_in_the_request_part_stick(worker: servers.Running, second_worker: servers.Running,
                                            tmp_path_factory: pytest.TempPathFactory) -> None:
    pair = gateways.start(tmp_path_factory.mktemp("form-pair"), "--backend", worker.url,
                          "--backend", second_worker.url, key=KEY, env={"BLENDER_HTTP_TOKEN": WORKER_TOKEN})
    try:
        with Blender(pair.url, token=KEY) as client:
            for i in range(8):
                client.exec(f"mine = {i} + len(args['b'])", args={"b": b"x"}, session=f"form-{i}")
            for i in range(8):
                assert client.exec("mine", session=f"form-{i}").result == i + 1
    finally:
        pair.stop()


def test_form_session_reads_only_a_whole_request_part() -> None:
    boundary = "bnd"
    body = (b'--bnd\r\nContent-Disposition: form-data; name="request"\r\n'
            b'Content-Type: application/json\r\n\r\n{"code": "1", "session": "s1"}\r\n--bnd\r\n'
            b'Content-Disposition: form-data; name="a"\r\n\r\n...')
    content_type = f"{MULTIPART}; boundary={boundary}"
    assert form_session(body, content_type) == "s1"
    assert form_session(body[:60], content_type) is None  # the part is not all there
    assert form_session(body, MULTIPART) is None


def test_openapi_describes_the_form(gateway: gateways.Gateway) -> None:
    with gateway.client() as client:
        spec = client.get("/openapi.json").json()
    for path in ("/exec", "/jobs"):
        form = spec["paths"][path]["post"]["requestBody"]["content"][MULTIPART]
        properties = form["schema"]["properties"]
        assert properties["data"] == {**properties["data"], "type": "string", "format": "binary"}
        assert set(properties) == {"code", "data"} and form["schema"]["required"] == ["code"]
        json.dumps(form)


def test_swagger_style_upload_runs_code_on_the_file(gateway: gateways.Gateway) -> None:
    # What Swagger UI sends for the form: a `code` field and a file in `data`.
    array = io.BytesIO()
    np.save(array, np.arange(10))
    with gateway.client() as client:
        response = client.post("/exec", files=[("code", (None, b"int(args['data'].sum())")),
                                               ("data", ("upload.npy", array.getvalue(), OCTET))])
    assert response.json()["result"] == 45


def test_swagger_ui_uploads_a_file_and_runs_code_on_it(gateway: gateways.Gateway, tmp_path: Path) -> None:
    upload = tmp_path / "grid.npy"
    np.save(upload, np.arange(12, dtype=np.int32).reshape(3, 4))
    with swagger.exec_operation(gateway.url) as operation:
        operation.get_by_role("button", name="Try it out").click()
        operation.locator(".body-param-content-type select").select_option(MULTIPART)
        operation.locator("tr[data-property-name='code'] input").first.fill(
            "[args['data'].shape, int(args['data'].sum())]")
        operation.locator("tr[data-property-name='data'] input[type=file]").set_input_files(str(upload))
        status, answer = swagger.execute(operation)
        assert status == "200", answer
        assert json.loads(answer)["result"] == [[3, 4], 66]
