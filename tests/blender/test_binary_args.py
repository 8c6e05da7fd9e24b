"""Binary arguments (multipart/form-data, SPEC 3.7) in a real Blender: module and background
mode, raw requests as curl -F sends them, and a Blender whose Python cannot import numpy."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import numpy as np
import pytest

from tests.blender import servers
from tests.conftest import missing

NPY = "application/x-npy"
MESH_FROM_POINTS = """
mesh = D.meshes.new("FromPoints")
points = args["points"]
mesh.vertices.add(len(points))
mesh.vertices.foreach_set("co", points.ravel())
obj = D.objects.new("FromPoints", mesh)
C.scene.collection.objects.link(obj)
co = [0.0] * (3 * len(mesh.vertices))
mesh.vertices.foreach_get("co", co)
(len(mesh.vertices), co[-3:], len(args["blob"]))
"""


def start(mode: str, tmp_path_factory: pytest.TempPathFactory, **kwargs: object) -> servers.Running:
    reason = servers.availability(mode)
    if reason:
        missing(reason)
    return servers.start(mode, tmp_path_factory.mktemp(f"binary-{mode}"), **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module", params=("module", "background"))
def server(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Running]:
    running = start(request.param, tmp_path_factory)
    yield running
    running.stop()


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_curl_style_form_builds_a_mesh(server: servers.Running) -> None:
    # curl -F 'code=<mesh.py' -F 'points=@points.npy;type=application/x-npy' -F blob=@blob.bin
    points = np.arange(3000, dtype=np.float32).reshape(1000, 3)
    with server.client() as http:
        response = http.post("/exec", files=[
            ("code", ("mesh.py", MESH_FROM_POINTS.encode(), "text/x-python")),
            ("points", ("points.npy", npy(points), NPY)),
            ("blob", ("blob.bin", bytes(range(256)) * 4, "application/octet-stream")),
        ])
    assert response.status_code == 200, response.text
    assert response.json()["result"] == [1000, [2997.0, 2998.0, 2999.0], 1024]


def test_job_with_request_part_and_array_result(server: servers.Running) -> None:
    image = np.random.default_rng(1).random((16, 8, 4), dtype=np.float32)
    code = ("import numpy as np\n"
            "img = D.images.new('Upload', 8, 16, alpha=True, float_buffer=True)\n"
            "img.pixels.foreach_set(args['image'].ravel())\n"
            "out = np.empty(8 * 16 * 4, np.float32)\nimg.pixels.foreach_get(out)\n"
            "out.reshape(16, 8, 4)")
    with server.client() as http:
        response = http.post("/jobs", files=[
            ("request", (None, json.dumps({"code": code, "session": "imgs"}).encode(), "application/json")),
            ("image", ("image.npy", npy(image), NPY))])
        assert response.status_code == 202, response.text
        job = http.get(f"/jobs/{response.json()['id']}?wait=30").json()
    assert job["status"] == "succeeded", job["envelope"]["error"]
    assert np.allclose(np.asarray(job["envelope"]["result"], dtype=np.float32), image)


def test_bad_forms_run_nothing(server: servers.Running) -> None:
    with server.client() as http:
        twice = http.post("/exec", files=[("code", (None, b"D.objects.remove(D.objects['Cube'])")),
                                          ("a", (None, b"1")), ("a", (None, b"2"))])
        assert twice.status_code == 400 and "twice" in twice.json()["error"]["message"]
        broken = http.post("/exec", files=[("code", (None, b"D.objects.remove(D.objects['Cube'])")),
                                           ("a", ("a.npy", b"not an array", NPY))])
        assert broken.status_code == 400 and "numpy" in broken.json()["error"]["message"]
        assert http.post("/exec", content=b"'Cube' in D.objects").json()["result"] is True


def test_blender_without_numpy_refuses_npy_parts(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Debian's Blender runs the system Python; hide numpy from it before the server starts.
    if servers.availability("background"):
        missing(servers.availability("background") or "")
    cmd = servers.command("background", tmp_path_factory.mktemp("nonumpy") / "unused")
    cmd[cmd.index("--python"):cmd.index("--python")] = ["--python-expr",
                                                        "import sys; sys.modules['numpy'] = None"]
    running = start("background", tmp_path_factory, cmd=cmd)
    try:
        with running.client() as http:
            assert http.post("/exec", content=b"import numpy").json()["ok"] is False
            refused = http.post("/exec", files=[("code", (None, b"1")),
                                                ("a", ("a.npy", npy(np.zeros(3)), NPY))])
            assert refused.status_code == 400 and "no numpy" in refused.json()["error"]["message"]
            raw = http.post("/exec", files=[("code", (None, b"len(args['a'])")), ("a", (None, b"abcd"))])
            assert raw.json()["result"] == 4
    finally:
        running.stop()
