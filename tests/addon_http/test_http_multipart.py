"""POST /exec and /jobs with multipart/form-data in-process: binary arguments, errors, limits."""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pytest

from blender_http_addon import config, protocol
from blender_http_addon.api.npy import read_npy

NPY = "application/x-npy"


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def request_part(code: str, **fields: Any) -> tuple[None, bytes, str]:
    return None, json.dumps({"code": code, **fields}).encode(), "application/json"


def test_npy_and_raw_parts_become_args(client: httpx.Client) -> None:
    points = np.arange(12, dtype=np.float32).reshape(4, 3)
    code = ("p = args['points']\n"
            "p[0, 0] = 7\n"  # writable, in the body's buffer
            "(type(p).__name__, p.dtype.str, list(p.shape), float(p.sum()),"
            " type(args['blob']).__name__, args['blob'], args['n'])")
    response = client.post("/exec", files=[
        ("request", request_part(code, args={"n": 3})),
        ("points", ("points.npy", npy(points), NPY)),
        ("blob", (None, b"\x00\xffraw", "application/octet-stream")),
    ])
    assert response.status_code == 200, response.text
    assert response.json()["result"] == ["ndarray", "<f4", [4, 3], 73.0, "bytes",
                                         {"$bytes": "AP9yYXc="}, 3]


def test_npy_by_filename_and_fortran_order(client: httpx.Client) -> None:
    grid = np.asfortranarray(np.arange(6, dtype=np.int16).reshape(2, 3))
    response = client.post("/exec", files=[("request", request_part("args['g'].tolist()")),
                                           ("g", ("g.NPY", npy(grid), "application/octet-stream"))])
    assert response.json()["result"] == [[0, 1, 2], [3, 4, 5]]


def test_code_part_with_query_session_and_jobs(client: httpx.Client) -> None:
    files = [("code", (None, b"total = len(args['b'])\ntotal")), ("b", (None, b"12345"))]
    response = client.post("/jobs?session=mp&timeout=30", files=files)
    assert response.status_code == 202, response.text
    job = client.get(f"/jobs/{response.json()['id']}?wait=10").json()
    assert job["status"] == "succeeded" and job["envelope"]["result"] == 5
    assert client.post("/exec?session=mp", content=b"total").json()["result"] == 5


def refused(client: httpx.Client, status: int, **kwargs: Any) -> str:
    response = client.post("/exec?session=guard", **kwargs)
    assert response.status_code == status, response.text
    assert response.json()["ok"] is False
    # nothing ran: the session the code would have made does not exist
    assert "guard" not in [s["name"] for s in client.get("/sessions").json()["sessions"]]
    return str(response.json()["error"]["message"])


RUNS = "ran = 1"


@pytest.mark.parametrize("files, words", [
    ([("code", (None, RUNS.encode())), ("x", (None, b"1")), ("x", (None, b"2"))], "given twice"),
    ([("request", request_part(RUNS, args={"x": 1})), ("x", (None, b"1"))], "both in 'args'"),
    ([("request", request_part(RUNS)), ("code", (None, RUNS.encode()))], "not both"),
    ([("x", (None, b"1"))], "needs a part named"),
    ([("code", (None, RUNS.encode())), ("x", ("x.npy", b"\x93NUMPY nonsense", NPY))], "numpy can read"),
    ([("code", (None, RUNS.encode())), ("x", ("x.npy", npy(np.zeros(4))[:-1], NPY))], "need 32 bytes"),
    ([("code", (None, RUNS.encode())), ("x", ("x.npy", npy(np.array([{}], dtype=object)), NPY))],
     "numpy can read"),
    ([("request", (None, b"{not json", "application/json"))], "not valid JSON"),
])
def test_bad_forms_are_400_and_run_nothing(client: httpx.Client, files: list[Any], words: str) -> None:
    assert words in refused(client, 400, files=files)


def test_truncated_form_is_400(client: httpx.Client) -> None:
    body = b'--xx\r\nContent-Disposition: form-data; name="code"\r\n\r\nran = 1\r\n--xx\r\n'
    headers = {"Content-Type": "multipart/form-data; boundary=xx"}
    assert "truncated" in refused(client, 400, content=body, headers=headers)
    assert "boundary" in refused(client, 400, content=body,
                                 headers={"Content-Type": "multipart/form-data"})


def test_multipart_limit_is_its_own(make_server: Callable[..., Any]) -> None:
    server = make_server(max_body_bytes=1000, max_multipart_bytes=5000)
    with server.client() as http:
        big = [("code", (None, b"len(args['b'])")), ("b", (None, b"x" * 3000))]
        assert http.post("/exec", files=big).json()["result"] == 3000  # over the JSON limit
        too_big = [("code", (None, b"len(args['b'])")), ("b", (None, b"x" * 6000))]
        response = http.post("/exec", files=too_big)
        assert response.status_code == 413 and "5000" in response.json()["error"]["message"]
    server.assert_healthy()


def test_a_claimed_length_is_not_allocated_before_it_arrives(server: Any, raw: Callable[..., Any]) -> None:
    # A client claims 1 GiB and sends five bytes: the server holds what came, not the claim.
    import tracemalloc

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        with raw(server.port) as connection:
            connection.send(b"POST /exec HTTP/1.1\r\nHost: " + server.host_header.encode()
                            + b"\r\nContent-Type: multipart/form-data; boundary=xx\r\n"
                            + b"Content-Length: 1073741824\r\n\r\n--xx\r")
            deadline = time.monotonic() + 5
            grown = 0
            while time.monotonic() < deadline:  # give the server time to read what was sent
                grown = max(grown, tracemalloc.get_traced_memory()[0] - before)
                time.sleep(0.05)
        assert grown < 16 * 1024 * 1024, grown
    finally:
        tracemalloc.stop()
    server.assert_healthy()


def test_default_limit_and_env() -> None:
    assert config.Config().max_multipart_bytes == protocol.MAX_MULTIPART_BYTES == 1 << 30
    env = {"BLENDER_HTTP_MAX_MULTIPART_BYTES": "1234"}
    assert config.Config.from_env(env).max_multipart_bytes == 1234


def test_without_numpy_npy_is_refused_and_raw_still_works(client: httpx.Client,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "numpy", None)  # `import numpy` raises ImportError
    monkeypatch.delitem(sys.modules, "numpy.lib.format", raising=False)
    message = refused(client, 400, files=[("code", (None, RUNS.encode())),
                                          ("x", ("x.npy", b"\x93NUMPY", NPY))])
    assert "no numpy" in message
    response = client.post("/exec", files=[("code", (None, b"len(args['raw'])")), ("raw", (None, b"abc"))])
    assert response.json()["result"] == 3


def test_chunked_multipart_body(client: httpx.Client) -> None:
    data = (b'--q\r\nContent-Disposition: form-data; name="code"\r\n\r\nargs["r"]\r\n'
            b'--q\r\nContent-Disposition: form-data; name="r"\r\n\r\nxyz\r\n--q--\r\n')
    response = client.post("/exec", content=iter([data[:50], data[50:]]),
                           headers={"Content-Type": "multipart/form-data; boundary=q"})
    assert response.json()["result"] == {"$bytes": "eHl6"}


def test_npy_shares_the_body_buffer_when_aligned() -> None:
    data = npy(np.arange(6, dtype=np.float64).reshape(2, 3))
    body = bytearray(b"\0" * 64 + data)
    array = read_npy(memoryview(body)[64:], "a")
    body[-8:] = np.float64(99).tobytes()  # the array is a view of the body: no copy
    assert array[1, 2] == 99 and array.flags.writeable


def test_misaligned_npy_is_copied_aligned() -> None:
    body = bytearray(b"\0" * 3 + npy(np.arange(4, dtype=np.float32)))
    array = read_npy(memoryview(body)[3:], "a")
    assert array.flags.aligned and memoryview(array).format == "f"
    assert array.tolist() == [0, 1, 2, 3]


def test_a_finished_job_does_not_keep_its_arguments(server: Any, client: httpx.Client) -> None:
    files = [("code", (None, b"len(args['b'])")), ("b", (None, b"x" * 1000))]
    job_id = client.post("/jobs", files=files).json()["id"]
    assert client.get(f"/jobs/{job_id}?wait=10").json()["envelope"]["result"] == 1000
    assert server.service.get_job(job_id).work.args == {}


def _npy_3_0(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=(3, 0))
    return buffer.getvalue()


def test_a_version_3_npy_reads_and_a_lying_one_is_400() -> None:
    from blender_http_addon.errors import HttpError

    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert _npy_3_0(array)[6:8] == b"\x03\x00"
    assert np.array_equal(read_npy(memoryview(_npy_3_0(array)), "a"), array)
    named = np.zeros(2, dtype=[("größe", "<f4")])  # the reason version 3 exists: UTF-8 names
    assert read_npy(memoryview(_npy_3_0(named)), "n").dtype.names == ("größe",)
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }"
    header += b" " * (63 - (12 + len(header)) % 64) + b"\n"
    lying = b"\x93NUMPY\x03\x00" + len(header).to_bytes(4, "little") + header + b"\x00" * 8
    for bad in (lying, lying[:20], b"\x93NUMPY\x03\x00" + b"\xff\xff\xff\x00" + b"{"):
        with pytest.raises(HttpError) as refused:
            read_npy(memoryview(bad), "x")
        assert refused.value.status == 400
