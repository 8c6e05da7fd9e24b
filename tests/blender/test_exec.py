"""POST /exec against a real Blender in module, background and GUI mode."""

from __future__ import annotations

import httpx
import numpy as np

from tests.blender.servers import Running


def test_raw_body_counts_the_factory_scene(client: httpx.Client) -> None:
    # What `curl --data-binary 'import bpy; len(bpy.data.objects)' .../exec` sends.
    response = client.post("/exec", content=b"import bpy; len(bpy.data.objects)",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True
    assert body["result"] == 3
    assert body["job"]


def test_health_reports_the_mode_and_blender(server: Running, client: httpx.Client) -> None:
    health = client.get("/health").json()
    assert health["status"] == "ok"
    assert health["mode"] == server.mode
    assert health["blender"][0].isdigit()
    assert health["busy"] is False


def test_json_body_with_args_and_prebound_names(client: httpx.Client) -> None:
    code = "obj = D.objects[args['name']]\nprint(obj.name)\n(type(C).__name__, obj.type, args['n'] * 2)"
    body = client.post("/exec", json={"code": code, "args": {"name": "Cube", "n": 21}}).json()
    assert body["ok"], body
    assert body["result"] == ["Context", "MESH", 42]
    assert body["stdout"] == "Cube\n"


def test_operators_run_on_the_main_thread(client: httpx.Client) -> None:
    code = (
        "import threading\n"
        "before = len(D.objects)\n"
        "bpy.ops.mesh.primitive_uv_sphere_add(radius=0.5, location=(0, 0, 3))\n"
        "added = C.active_object\n"
        "count = len(D.objects)\n"
        "name = added.name\n"
        "bpy.data.objects.remove(added)\n"
        "result = {'main': threading.current_thread() is threading.main_thread(),\n"
        "          'added': count - before, 'name': name}\n"
    )
    body = client.post("/exec", json={"code": code}).json()
    assert body["ok"], body
    assert body["result"] == {"main": True, "added": 1, "name": "Sphere"}


def test_blender_values_are_converted(client: httpx.Client) -> None:
    code = (
        "cam = D.objects['Camera']\n"
        "(cam.location, cam.matrix_world, cam.rotation_euler, cam.rotation_euler.to_quaternion(),\n"
        " D.objects['Cube'], D.objects['Cube'].color, D.scenes[0].render, {1, 2}, b'\\x00\\xff')"
    )
    body = client.post("/exec", json={"code": code}).json()
    assert body["ok"], body
    location, matrix, euler, quat, cube, color, render, numbers, raw = body["result"]
    assert len(location) == 3 and all(isinstance(v, float) for v in location)
    assert len(matrix) == 4 and all(len(row) == 4 for row in matrix)
    assert len(euler) == 3 and len(quat) == 4
    assert cube == {"$id": "Object", "name": "Cube"}
    assert color == [1.0, 1.0, 1.0, 1.0]
    assert "$repr" in render
    assert numbers == [1, 2]
    assert raw == {"$bytes": "AP8="}


def test_nan_and_unserialisable_results_never_fail(client: httpx.Client) -> None:
    body = client.post("/exec", json={"code": "import mathutils\n"
                                      "[float('nan'), float('inf'), mathutils.Vector((1, float('nan'))),"
                                      " object, lambda: 1]"}).json()
    assert body["ok"], body
    nan, inf, vector, cls, func = body["result"]
    assert nan is None and inf is None and vector == [1.0, None]
    assert cls == {"$repr": "<class 'object'>"}
    assert func["$repr"].startswith("<function <lambda>")


def test_error_envelope_points_at_the_users_line(client: httpx.Client) -> None:
    code = "x = 1\ny = 2\nD.objects['does not exist']\n"
    response = client.post("/exec", json={"code": code})
    assert response.status_code == 422
    body = response.json()
    assert body["ok"] is False
    error = body["error"]
    assert error["type"] == "KeyError"
    assert error["line"] == 3
    assert 'File "<exec>", line 3' in error["traceback"]
    assert "execution.py" not in error["traceback"]  # the server's own frames are cut


def test_syntax_error(client: httpx.Client) -> None:
    response = client.post("/exec", content=b"for x in :\n  pass", headers={"Content-Type": "text/plain"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "SyntaxError"
    assert error["line"] == 1


def test_sys_exit_leaves_the_server_up(client: httpx.Client) -> None:
    response = client.post("/exec", content=b"import sys\nsys.exit(4)")
    assert response.status_code == 422
    assert response.json()["error"]["type"] == "SystemExit"
    assert client.post("/exec", content=b"len(D.objects)").json()["result"] == 3
    assert client.get("/health").json()["status"] == "ok"


def test_keyboard_interrupt_and_recursion_are_structured(client: httpx.Client) -> None:
    interrupted = client.post("/exec", content=b"raise KeyboardInterrupt")
    assert interrupted.status_code == 422
    assert interrupted.json()["error"]["type"] == "KeyboardInterrupt"
    recursed = client.post("/exec", content=b"def f(n):\n    return f(n + 1)\nf(0)")
    assert recursed.status_code == 422
    assert recursed.json()["error"]["type"] == "RecursionError"
    assert client.post("/exec", content=b"1 + 1").json()["result"] == 2


def test_stdout_and_stderr_are_captured_per_job(client: httpx.Client) -> None:
    code = "import sys\nprint('out', 1)\nprint('err', file=sys.stderr)\nsys.stdout.write('x' * 10)"
    body = client.post("/exec", json={"code": code}).json()
    assert body["stdout"] == "out 1\n" + "x" * 10
    assert body["stderr"] == "err\n"
    assert body["result"] == 10


def test_sessions_keep_variables(client: httpx.Client) -> None:
    client.delete("/sessions/e2e")
    assert client.post("/exec?session=e2e", content=b"counter = 41").json()["ok"]
    body = client.post("/exec", json={"code": "counter += 1\ncounter", "session": "e2e"}).json()
    assert body["result"] == 42
    fresh = client.post("/exec", content=b"'counter' in globals()").json()
    assert fresh["result"] is False
    names = [s["name"] for s in client.get("/sessions").json()["sessions"]]
    assert "e2e" in names
    assert client.delete("/sessions/e2e").status_code == 204
    assert client.delete("/sessions/e2e").status_code == 404


def test_timeout_interrupts_a_loop(client: httpx.Client) -> None:
    response = client.post("/exec", json={"code": "while True:\n    pass", "timeout": 0.5})
    assert response.status_code == 504
    assert response.json()["error"]["type"] == "Timeout"
    assert client.post("/exec", content=b"len(D.objects)").json()["result"] == 3


def test_files_round_trip_through_workdir(client: httpx.Client) -> None:
    assert client.put("/files/in/data.txt", content=b"hello from the client").status_code in (200, 201)
    code = (
        "import os\n"
        "text = open(os.path.join(WORKDIR, 'in', 'data.txt')).read()\n"
        "bpy.ops.wm.save_as_mainfile(filepath=os.path.join(WORKDIR, 'scene.blend'), copy=True)\n"
        "text.upper()"
    )
    body = client.post("/exec", json={"code": code}).json()
    assert body["ok"], body
    assert body["result"] == "HELLO FROM THE CLIENT"
    listing = {f["path"] for f in client.get("/files").json()["files"]}
    assert {"in/data.txt", "scene.blend"} <= listing
    blend = client.get("/files/scene.blend")
    assert blend.status_code == 200
    # Blender 5 compresses .blend files with zstd by default; older ones write them plain.
    assert blend.content[:7] == b"BLENDER" or blend.content[:4] == b"\x28\xb5\x2f\xfd"
    assert client.delete("/files/scene.blend").status_code == 204
    assert client.get("/files/scene.blend").status_code == 404


def test_numpy_result_on_the_binary_path(client: httpx.Client) -> None:
    code = (
        "import numpy as np\n"
        "mesh = D.objects['Cube'].data\n"
        "co = np.empty(len(mesh.vertices) * 3, dtype=np.float32)\n"
        "mesh.vertices.foreach_get('co', co)\n"
        "co.reshape(-1, 3)"
    )
    response = client.post("/exec", json={"code": code}, headers={"Accept": "application/octet-stream"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["x-result-shape"] == "8,3"
    assert response.headers["x-result-dtype"] == "<f4"
    assert len(response.content) == 8 * 3 * 4
    raw = np.frombuffer(response.content, dtype="<f4").reshape(8, 3)
    as_json = client.post("/exec", json={"code": code}).json()["result"]
    assert raw.tolist() == as_json
    assert all(abs(v) == 1.0 for row in as_json for v in row)  # the default cube's corners


def test_large_numpy_result_as_json_matches_the_binary_path(client: httpx.Client) -> None:
    # A 200x200 grid: 40,401 vertices, past the size from which numpy writes the JSON text.
    code = (
        "import numpy as np\n"
        "bpy.ops.mesh.primitive_grid_add(x_subdivisions=200, y_subdivisions=200, size=3)\n"
        "grid = C.active_object\n"
        "co = np.empty(len(grid.data.vertices) * 3, dtype=np.float32)\n"
        "grid.data.vertices.foreach_get('co', co)\n"
        "bpy.data.objects.remove(grid)\n"
        "co[:3] = (0.1, -0.0, float('nan'))\n"
        "co.reshape(-1, 3)"
    )
    raw = client.post("/exec", json={"code": code}, headers={"Accept": "application/octet-stream"})
    assert raw.status_code == 200, raw.text
    binary = np.frombuffer(raw.content, dtype="<f4").reshape(-1, 3)
    assert binary.shape == (201 * 201, 3)
    answer = client.post("/exec", json={"code": code})
    assert answer.status_code == 200, answer.text
    # float32 values in their shortest digits, NaN as null, in Blender's own numpy.
    assert answer.text.startswith('{"ok":true,"result":[[0.1,-0.0,null],[')
    as_json = answer.json()["result"]
    read = np.array([[np.nan if v is None else v for v in row] for row in as_json], dtype=np.float32)
    np.testing.assert_array_equal(read, binary)
    assert np.signbit(read[0, 1])
