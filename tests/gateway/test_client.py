"""The project's own client, unchanged, against the gateway (the API key is its token)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from blender_http import AuthError, Blender, ExecError
from tests.gateway import gateways
from tests.gateway.conftest import KEY


@pytest.fixture
def blender(gateway: gateways.Gateway) -> Iterator[Blender]:
    with Blender(gateway.url, token=KEY) as client:
        yield client


def test_exec_sessions_and_errors(blender: Blender) -> None:
    assert blender.exec("args['x'] + 1", args={"x": 41}).result == 42
    session = blender.session("client-through-gateway")
    session.exec("kept = 'yes'")
    assert session.exec("kept").result == "yes"
    with pytest.raises(ExecError) as caught:
        blender.exec("1 / 0")
    assert caught.value.type == "ZeroDivisionError"
    assert blender.health()["status"] == "ok"


def test_jobs_wait_stream_cancel(blender: Blender) -> None:
    job = blender.submit("for i in range(3):\n    print(i)\n'finished'")
    assert "." in job.id  # the gateway's id names the backend
    assert job.result(timeout=30).result == "finished"
    texts = [event.text for event in blender.job(job.id).stream() if not event.done]
    assert "".join(texts) == "0\n1\n2\n"
    running = blender.submit("import time\nwhile True: time.sleep(0.01)")
    running.cancel()
    assert running.wait(timeout=30).status == "cancelled"


def test_files_arrays_and_scene(blender: Blender, tmp_path: Path) -> None:
    source = tmp_path / "data.bin"
    source.write_bytes(bytes(range(256)) * 4096)
    blender.upload(source, "client/data.bin")
    assert blender.read_bytes("client/data.bin") == source.read_bytes()
    array = blender.exec_array("import numpy\nnumpy.ones((1000, 3), dtype='<f4')")
    assert np.array_equal(array, np.ones((1000, 3), dtype="<f4"))
    assert blender.scene(limit=5)["ok"] is True
    assert blender.render(engine="BLENDER_WORKBENCH", width=32, height=24).startswith(b"\x89PNG")


def test_a_wrong_key_is_an_auth_error(gateway: gateways.Gateway) -> None:
    with Blender(gateway.url, token="not-a-key") as client, pytest.raises(AuthError):
        client.exec("1")
