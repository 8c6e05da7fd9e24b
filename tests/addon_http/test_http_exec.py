"""POST /exec end to end in-process: bodies, envelopes, sessions, binary results."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pytest

ErrorOf = Callable[..., dict[str, Any]]


def test_json_body(client: httpx.Client) -> None:
    response = client.post("/exec", json={"code": "print('hi')\nargs['a'] * 2", "args": {"a": 21}})
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["result"] == 42
    assert (body["stdout"], body["stderr"]) == ("hi\n", "")
    assert isinstance(body["duration_ms"], float) and isinstance(body["job"], str)


def test_curl_style_raw_body_is_code(client: httpx.Client) -> None:
    # curl --data-binary @script.py sends application/x-www-form-urlencoded.
    code = b"a = 1+2\n'%s&b' % a\n"
    response = client.post("/exec", content=code,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.json()["result"] == "3&b"


def test_raw_body_with_query_session_and_timeout(client: httpx.Client) -> None:
    assert client.post("/exec?session=s1&timeout=30", content=b"x = 5").status_code == 200
    assert client.post("/exec?session=s1", content=b"x * 2").json()["result"] == 10


def test_workdir_is_bound(server: Any, client: httpx.Client) -> None:
    assert client.post("/exec", content=b"WORKDIR").json()["result"] == str(server.service.files.root)


def test_code_error_is_422_with_the_users_traceback(client: httpx.Client, error_of: ErrorOf) -> None:
    response = client.post("/exec", content=b"x = 1\nprint('before')\nundefined_name\n")
    error = error_of(response, 422)
    assert (error["type"], error["line"]) == ("NameError", 3)
    assert 'File "<exec>", line 3' in error["traceback"]
    assert "blender_http_addon" not in error["traceback"]
    assert response.json()["stdout"] == "before\n"


@pytest.mark.parametrize(("code", "kind"), [
    (b"import sys; sys.exit(1)", "SystemExit"),
    (b"raise KeyboardInterrupt", "KeyboardInterrupt"),
    (b"def f(): f()\nf()", "RecursionError"),
    (b"x = (", "SyntaxError"),
])
def test_base_exceptions_and_syntax_errors_are_422(client: httpx.Client, error_of: ErrorOf,
                                                   code: bytes, kind: str) -> None:
    assert error_of(client.post("/exec", content=code), 422)["type"] == kind
    assert client.get("/health").json()["status"] == "ok"  # the server stays up
    assert client.post("/exec", content=b"'alive'").json()["result"] == "alive"


def test_unconvertible_results_do_not_fail_the_request(client: httpx.Client) -> None:
    code = (b"class Odd:\n    def __repr__(self):\n        raise ValueError\n"
            b"l = [1]\nl.append(l)\n{'odd': Odd(), 'loop': l, 'nan': float('nan'), 'set': {2, 1}}")
    result = client.post("/exec", content=code).json()["result"]
    assert "repr failed" in result["odd"]["$repr"]
    assert result["loop"][0] == 1 and "$repr" in result["loop"][1]
    assert (result["nan"], result["set"]) == (None, [1, 2])


def test_huge_int_result_does_not_fail_the_request(client: httpx.Client) -> None:
    assert client.post("/exec", content=b"10 ** 5000").status_code == 200


def test_output_is_capped(make_server: Callable[..., Any]) -> None:
    server = make_server(max_output_bytes=100)
    with server.client() as http:
        body = http.post("/exec", content=b"for i in range(1000): print(i)").json()
    assert len(body["stdout"]) == 100
    assert body["truncated"] == ["stdout"]


def test_sessions_list_and_delete(client: httpx.Client, error_of: ErrorOf) -> None:
    assert client.get("/sessions").json()["sessions"] == []
    client.post("/exec", json={"code": "a = 1\nb = 2", "session": "work"})
    assert client.post("/exec", json={"code": "a + b", "session": "work"}).json()["result"] == 3
    sessions = client.get("/sessions").json()["sessions"]
    assert [(s["name"], s["runs"]) for s in sessions] == [("work", 2)]
    assert sessions[0]["variables"] >= 2
    deleted = client.delete("/sessions/work")
    assert (deleted.status_code, deleted.content) == (204, b"")
    error_of(client.delete("/sessions/work"), 404)
    error_of(client.post("/exec", json={"code": "a", "session": "work"}), 422)  # a fresh namespace


def test_binary_result_with_accept_octet_stream(client: httpx.Client) -> None:
    code = b"import numpy as np\nnp.arange(6, dtype=np.float32).reshape(2, 3)"
    response = client.post("/exec", content=code, headers={"Accept": "application/octet-stream"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["X-Result-Dtype"] == "<f4"
    assert response.headers["X-Result-Shape"] == "2,3"
    assert response.headers["X-Job-Id"]
    expected = np.arange(6, dtype=np.float32).reshape(2, 3)
    received = np.frombuffer(response.content, dtype=response.headers["X-Result-Dtype"]).reshape(2, 3)
    assert received.tolist() == expected.tolist()


def test_bytes_result_with_accept_octet_stream(client: httpx.Client) -> None:
    response = client.post("/exec", content=b"bytes(range(5))",
                           headers={"Accept": "application/octet-stream"})
    assert response.content == bytes(range(5))
    assert (response.headers["X-Result-Dtype"], response.headers["X-Result-Shape"]) == ("uint8", "5")


def test_octet_stream_falls_back_to_json_for_other_results(client: httpx.Client) -> None:
    response = client.post("/exec", content=b"[1, 2]", headers={"Accept": "application/octet-stream"})
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["result"] == [1, 2]


def test_numpy_result_as_json(client: httpx.Client) -> None:
    code = b"import numpy as np\nnp.array([[1.0, np.nan], [np.inf, 2.0]])"
    assert client.post("/exec", content=code).json()["result"] == [[1.0, None], [None, 2.0]]


def test_concurrent_execs_each_get_their_own_answer(server: Any) -> None:
    def one(n: int) -> tuple[int, dict[str, Any]]:
        with server.client() as http:
            return n, http.post("/exec", json={"code": "print(args['n'])\nargs['n'] * 10",
                                               "args": {"n": n}}).json()

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one, range(40)))
    for n, body in answers:
        assert (body["result"], body["stdout"]) == (n * 10, f"{n}\n")


def test_request_id_is_echoed(client: httpx.Client) -> None:
    assert client.post("/exec", content=b"1", headers={"X-Request-ID": "abc-123"}).headers[
        "X-Request-ID"] == "abc-123"
