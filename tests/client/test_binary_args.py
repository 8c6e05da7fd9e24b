"""The client sends numpy arrays, bytes and binary files as multipart parts (SPEC 3.7),
sync, async and from the CLI, against a real module-mode Blender."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from blender_http import AsyncBlender, Blender, BlenderError
from blender_http.form import exec_content, npy_bytes
from tests.blender import servers
from tests.client.conftest import TOKEN

DESCRIBE = ("{k: [type(v).__name__, v.dtype.str, list(v.shape)] if hasattr(v, 'dtype')"
            " else [type(v).__name__, v] for k, v in args.items()}")


def test_exec_with_array_bytes_file_and_json_args(blender: Blender) -> None:
    points = np.random.default_rng(0).random((1000, 3), dtype=np.float32)
    result = blender.exec(DESCRIBE, args={"points": points, "raw": b"\x00\x01", "view": memoryview(b"abc"),
                                          "file": io.BytesIO(b"12345"), "n": 3})
    assert result.result == {"n": ["int", 3], "points": ["ndarray", "<f4", [1000, 3]],
                             "raw": ["bytes", {"$bytes": "AAE="}], "view": ["bytes", {"$bytes": "YWJj"}],
                             "file": ["bytes", {"$bytes": "MTIzNDU="}]}


def test_array_round_trip_into_a_mesh(blender: Blender) -> None:
    points = np.random.default_rng(1).random((500, 3), dtype=np.float32)
    code = ("mesh = D.meshes.new('ClientPoints')\nmesh.vertices.add(len(args['p']))\n"
            "mesh.vertices.foreach_set('co', args['p'].ravel())\n"
            "import numpy as np\nout = np.empty(len(mesh.vertices) * 3, np.float32)\n"
            "mesh.vertices.foreach_get('co', out)\nout.reshape(-1, 3)")
    assert np.array_equal(blender.exec_array(code, args={"p": points}), points)


def test_arrays_arrive_in_place_without_a_copy(blender: Blender) -> None:
    # The client pads each .npy header so the data lands aligned in the server's body buffer:
    # the array there is a view of the request body (a misaligned one would be a copy).
    arrays = {"a": np.arange(7, dtype=np.float64), "raw": b"odd" * 7, "b": np.ones((3, 5), np.float32),
              "c": np.asfortranarray(np.arange(6, dtype=np.int16).reshape(2, 3))}
    code = "{k: [type(v.base.base).__name__, v.tolist()] for k, v in args.items() if k != 'raw'}"
    result = blender.exec(code, args=arrays).result
    assert result == {"a": ["memoryview", list(range(7))], "b": ["memoryview", [[1.0] * 5] * 3],
                      "c": ["memoryview", [[0, 1, 2], [3, 4, 5]]]}


def test_submit_sends_multipart_and_session(blender: Blender) -> None:
    job = blender.submit("kept = args['a'] * 2\nkept.tolist()", args={"a": np.arange(3)}, session="bin")
    assert job.result().result == [0, 2, 4]
    assert blender.exec("kept.sum()", session="bin").result == 6


def test_bad_npy_file_is_a_client_error(blender: Blender) -> None:
    bad = io.BytesIO(b"not numpy")
    bad.name = "bad.npy"
    with pytest.raises(BlenderError, match="numpy can read"):
        blender.exec("1", args={"a": bad})


@pytest.mark.anyio
async def test_async_twin_sends_arrays(ablender: AsyncBlender) -> None:
    result = await ablender.exec("float(args['a'].sum()), args['b']", args={"a": np.ones((4, 4)), "b": b"z"})
    assert result.result == [16.0, {"$bytes": "eg=="}]
    job = await ablender.submit("args['a'].shape", args={"a": np.zeros((2, 5), np.uint8)})
    assert (await job.result()).result == [2, 5]


def test_cli_arg_files(tmp_path: Path, server: servers.Running) -> None:
    np.save(tmp_path / "pts.npy", np.arange(6, dtype=np.int32).reshape(2, 3))
    (tmp_path / "blob.bin").write_bytes(b"\xff" * 10)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLENDER_HTTP_")}
    env.update(BLENDER_HTTP_URL=server.url, BLENDER_HTTP_TOKEN=TOKEN,
               BLENDER_HTTP_STATE_DIR=str(tmp_path / "state"))
    command = [sys.executable, "-m", "blender_http", "exec", "--json", "-c",
               "args['pts'].sum().item(), len(args['blob']), args['k']", "--args", '{"k": 1}',
               "--arg", f"pts=@{tmp_path / 'pts.npy'}", "--arg", f"blob=@{tmp_path / 'blob.bin'}"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["result"] == [15, 10, 1]
    bad = subprocess.run([*command[:-4], "--arg", "pts=nofile"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 2 and "NAME=@FILE" in bad.stderr


@pytest.mark.parametrize("data_at", [None, 0, 1, 63, 1000])
def test_npy_bytes_pads_the_header_to_align_the_data(data_at: int | None) -> None:
    array = np.arange(10, dtype=np.float64).reshape(2, 5)
    data = npy_bytes(array, data_at)
    start = len(data) - array.nbytes
    assert ((data_at or 0) + start) % 64 == 0
    assert np.array_equal(np.load(io.BytesIO(data)), array)


def test_large_parts_are_streamed_in_reads() -> None:
    # httpx sends a bytes body by slicing off each send(), copying the rest every time: big
    # parts go as file objects, which it reads 64 KiB at a time.
    content = exec_content("1", {"big": b"x" * (2 << 20), "small": b"y"}, None, None)
    parts = dict(content["files"])
    assert isinstance(parts["big"][1], io.BytesIO) and parts["small"][1] == b"y"
    assert content["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")
