"""The gateway in front of one real module-mode worker: every add-on route, through."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from blender_http_addon import protocol
from tests.gateway import gateways
from tests.gateway.conftest import KEY


def test_health_and_docs_are_open_everything_else_needs_a_key(gateway: gateways.Gateway) -> None:
    with gateway.client(key=None) as anonymous:
        health = anonymous.get("/health")
        assert health.status_code == 200
        # Without a key: healthy or not, and nothing about the workers (URLs, pids).
        assert health.json() == {"status": "ok", "version": health.json()["version"]}
        with gateway.client(key="wrong") as guessing:
            assert "backends" not in guessing.get("/health").json()
        with gateway.client() as holder:
            assert holder.get("/health").json()["backends"][0]["healthy"] is True
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert anonymous.get(path).status_code == 200, path
        refused = anonymous.post("/exec", content="1")
        assert refused.status_code == 401
        assert refused.json() == {"ok": False, "error": {
            "type": "Unauthorized", "message": "missing API key: send 'Authorization: Bearer <key>'"}}
        assert anonymous.get("/metrics").status_code == 401
        assert anonymous.post("/mcp/", json={}).status_code == 401
    with gateway.client(key="wrong-key") as wrong:
        answer = wrong.get("/jobs")
        assert answer.status_code == 401
        assert answer.json()["error"]["message"] == "wrong API key"


def test_docs_pages_load_their_assets_from_the_gateway(gateway: gateways.Gateway) -> None:
    with gateway.client(key=None) as anonymous:
        for page, asset in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
            html = anonymous.get(page).text
            assert f"/docs-assets/{asset}" in html, html
            assert anonymous.get(f"/docs-assets/{asset}").status_code == 200


def test_exec_json_and_text_bodies(client: httpx.Client) -> None:
    answer = client.post("/exec", json={"code": "print('hi')\nargs['a'] * 2", "args": {"a": 21}})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["ok"], body["result"], body["stdout"]) == (True, 42, "hi\n")
    text = client.post("/exec", content="import bpy\nbpy.app.version_string",
                       headers={"Content-Type": "text/plain"})
    assert text.json()["result"].startswith("5.")


def test_exec_errors_pass_through_in_one_shape(client: httpx.Client) -> None:
    failed = client.post("/exec", json={"code": "x = 1\nundefined_name"})
    assert failed.status_code == 422
    error = failed.json()["error"]
    assert (error["type"], error["line"]) == ("NameError", 2)
    bad = client.post("/exec", content=b'{"code": ', headers={"Content-Type": "application/json"})
    assert bad.status_code == 400
    assert bad.json()["ok"] is False
    bad_query = client.post("/exec?timeout=soon", content="1")
    assert bad_query.status_code == 400
    assert bad_query.json()["error"]["type"] == "BadRequest"
    missing = client.get("/jobs/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "NotFound"
    unknown = client.get("/no/such/route")
    assert unknown.status_code == 404
    assert unknown.json()["ok"] is False


def test_bodies_read_whole_are_bounded(client: httpx.Client) -> None:
    huge = client.post("/exec", content=b"#" * (65 * 1024 * 1024))
    assert huge.status_code == 413
    assert huge.json()["error"]["type"] == "PayloadTooLarge"
    assert client.post("/exec", content="1").json()["result"] == 1


def test_binary_results_stream_through(client: httpx.Client) -> None:
    answer = client.post("/exec", json={"code": "import numpy\nnumpy.arange(300000, dtype='<f4')"},
                         headers={"Accept": "application/octet-stream"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-result-dtype"] == "<f4"
    assert np.array_equal(np.frombuffer(answer.content, "<f4"), np.arange(300000, dtype="<f4"))
    assert answer.headers["x-job-id"].count(".") == 1


def test_sessions_keep_variables_and_can_be_deleted(client: httpx.Client) -> None:
    client.post("/exec", json={"code": "counter = 41", "session": "gw-session"})
    again = client.post("/exec?session=gw-session", content="counter + 1")
    assert again.json()["result"] == 42
    names = [s["name"] for s in client.get("/sessions").json()["sessions"]]
    assert "gw-session" in names
    assert client.delete("/sessions/gw-session").status_code == 204
    assert client.delete("/sessions/gw-session").status_code == 404


def test_jobs_carry_their_backend_and_stream_events(client: httpx.Client) -> None:
    submitted = client.post("/jobs", json={"code": "import time\nfor i in range(3):\n    print(i)\n"
                                                   "    time.sleep(0.05)\n'done'"})
    assert submitted.status_code == 202, submitted.text
    job = submitted.json()["id"]
    assert submitted.headers["location"] == f"/jobs/{job}"
    with client.stream("GET", f"/jobs/{job}/events") as events:
        assert events.headers["content-type"].startswith("text/event-stream")
        text = "".join(events.iter_text())
    assert "event: stdout" in text
    done = [line for line in text.splitlines() if line.startswith("data: ") and '"ok"' in line][-1]
    assert json.loads(done[6:])["job"] == job
    finished = client.get(f"/jobs/{job}", params={"wait": 10}).json()
    assert (finished["status"], finished["envelope"]["result"], finished["id"]) == ("succeeded", "done", job)
    assert finished["backend"] == submitted.headers["x-blender-backend"]
    assert job in [j["id"] for j in client.get("/jobs").json()["jobs"]]


def test_events_flow_through_as_they_are_printed(client: httpx.Client) -> None:
    job = client.post("/jobs", content="import time\nprint('early', flush=True)\ntime.sleep(3)\n'late'"
                      ).json()["id"]
    with client.stream("GET", f"/jobs/{job}/events") as events:
        for line in events.iter_lines():
            if line.startswith("event: stdout"):
                # The first output arrived while the job still runs: nothing waited for the end.
                assert client.get(f"/jobs/{job}").json()["status"] == "running"
                break
        else:
            pytest.fail("no stdout event")
    assert client.get(f"/jobs/{job}", params={"wait": 30}).json()["envelope"]["result"] == "late"


def test_cancel_a_running_job(client: httpx.Client) -> None:
    job = client.post("/jobs", content="import time\nwhile True: time.sleep(0.01)").json()["id"]
    client.get(f"/jobs/{job}", params={"wait": 0.2})
    cancelled = client.delete(f"/jobs/{job}")
    assert cancelled.status_code in (200, 202), cancelled.text
    assert client.get(f"/jobs/{job}", params={"wait": 10}).json()["status"] == "cancelled"
    assert client.delete(f"/jobs/{job}").status_code == 409


def test_files_stream_both_ways(client: httpx.Client) -> None:
    data = os.urandom(24 * 1024 * 1024)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(data), 1 << 20):
            yield data[start:start + (1 << 20)]

    stored = client.put("/files/gw/big.bin", content=chunks())
    assert stored.status_code in (200, 201), stored.text
    assert stored.json()["size"] == len(data)
    received = bytearray()
    with client.stream("GET", "/files/gw/big.bin") as download:
        assert download.headers["content-length"] == str(len(data))
        for block in download.iter_bytes():
            received += block
    assert bytes(received) == data
    assert "gw/big.bin" in [f["path"] for f in client.get("/files").json()["files"]]
    size = client.post("/exec", json={"code": "import os\nos.path.getsize(os.path.join(WORKDIR, "
                                              "'gw/big.bin'))"}).json()["result"]
    assert size == len(data)
    assert client.delete("/files/gw/big.bin").status_code == 204
    assert client.get("/files/gw/big.bin").status_code == 404
    assert client.get("/files/../etc/passwd").status_code in (400, 403, 404)


def test_the_listing_pages_through_the_gateway(client: httpx.Client) -> None:
    made = client.post("/exec", json={"code": (
        "import os\nos.makedirs(os.path.join(WORKDIR, 'gw-pages', 'sub'), exist_ok=True)\n"
        "for name in ('a.txt', 'b.txt', 'sub/c.txt', 'z.txt'):\n"
        "    open(os.path.join(WORKDIR, 'gw-pages', name), 'w').close()")})
    assert made.json()["ok"] is True, made.text
    try:
        # The query goes to the worker as sent; its pages come back whole, `next` with them.
        first = client.get("/files", params={"limit": 2, "after": "gw-pages"}).json()
        assert [f["path"] for f in first["files"]] == ["gw-pages/a.txt", "gw-pages/b.txt"]
        assert first["next"] == "gw-pages/b.txt"
        rest = client.get("/files", params={"limit": 2, "after": first["next"]}).json()
        assert [f["path"] for f in rest["files"]][:2] == ["gw-pages/sub/c.txt", "gw-pages/z.txt"]
        for params, words in (({"limit": 0}, "limit: Input should be greater than or equal to 1"),
                              ({"limit": protocol.MAX_FILES_PAGE + 1}, "limit: Input should be less than"),
                              ({"after": "a" * 1025}, "after: String should have at most 1024 characters")):
            refused = client.get("/files", params=params)
            assert refused.status_code == 400, refused.text
            assert refused.json()["error"]["message"].startswith(words)
    finally:
        client.post("/exec", json={"code": "import shutil, os\n"
                                           "shutil.rmtree(os.path.join(WORKDIR, 'gw-pages'))"})


def test_request_ids_are_passed_on_and_logged(gateway: gateways.Gateway, client: httpx.Client) -> None:
    given = client.post("/exec", content="1", headers={"X-Request-ID": "trace-abc-123"})
    assert given.headers.get_list("x-request-id") == ["trace-abc-123"]
    generated = client.post("/exec", content="1").headers["x-request-id"]
    assert len(generated) == 32
    # Access lines are written together, at most FLUSH_AFTER_S after their request.
    deadline = time.monotonic() + 10
    while f"id={generated}" not in gateway.log_text() and time.monotonic() < deadline:
        time.sleep(0.02)
    log = gateway.log_text()
    assert "id=trace-abc-123" in log and log.index("id=trace-abc-123") < log.index(f"id={generated}")


def test_the_backend_token_stays_in_the_gateway(client: httpx.Client) -> None:
    answer = client.get("/health")
    assert "worker-token" not in answer.text
    # The client's own key is not forwarded: the worker would refuse it.
    assert client.post("/exec", content="2 + 2").json()["result"] == 4


def test_metrics_count_requests_by_route_and_backend(client: httpx.Client) -> None:
    client.post("/exec", content="1")
    text = client.get("/metrics").text
    assert 'blender_http_gateway_requests_total{method="POST",route="/exec",status="200"}' in text
    assert "blender_http_gateway_backend_seconds_bucket{backend=" in text
    assert "blender_http_gateway_backend_queue_depth{backend=" in text
    assert f"Bearer {KEY}" not in text


def test_metrics_label_requests_with_the_matched_route_template(client: httpx.Client) -> None:
    assert client.put("/files/gw-metrics/label.txt", content=b"label").status_code in (200, 201)
    assert client.get("/files/gw-metrics/label.txt").content == b"label"
    assert client.delete("/files/gw-metrics/label.txt").status_code == 204
    families = {family.name: family for family in
                text_string_to_metric_families(client.get("/metrics").text)}
    forwarded = [s.labels for s in families["blender_http_gateway_backend_requests"].samples
                 if s.name.endswith("_total")]
    answered = [s.labels for s in families["blender_http_gateway_requests"].samples
                if s.name.endswith("_total")]
    for labels in (forwarded, answered):
        # One series per route (/files/{path:path}), never one per URL.
        assert {"200", "204"} <= {x["status"] for x in labels if x["route"] == protocol.FILE}, labels
        assert not any("gw-metrics" in x["route"] for x in labels), labels
    assert {x["route"] for x in forwarded} <= {x["route"] for x in answered}


def test_file_names_follow_the_workers_rule(client: httpx.Client) -> None:
    """The gateway accepts the names a worker accepts (spaces, a leading dot...) and refuses
    the others with the worker's words, never a regular expression."""
    for name in ("my%20scene.txt", "_gw/.hidden", "gw/caf%C3%A9%20(1).txt"):
        assert client.put(f"/files/{name}", content=b"x").status_code in (200, 201), name
        assert client.get(f"/files/{name}").content == b"x"
        assert client.delete(f"/files/{name}").status_code == 204
    refused = client.put("/files/gw/%2E%2E/x.txt", content=b"x")
    assert refused.status_code == 400
    assert refused.json()["error"]["message"].startswith("'..', '.' and empty segments")
    refused = client.put("/files/gw%5Cx.txt", content=b"x")
    assert refused.status_code == 400 and "backslash" in refused.json()["error"]["message"]


def test_names_windows_reads_otherwise_are_400_through_the_gateway(client: httpx.Client) -> None:
    # The same rule as the workers', on every platform: a gateway in front of Linux and
    # Windows workers answers alike, before any worker is asked.
    for name, words in (("CON", "device name"), ("gw/nul.txt", "device name"), ("COM1.log", "device name"),
                        ("C%3Ax", "':'"), ("a.txt%3Astream", "':'"), ("gw/x.", "dot or a space"),
                        ("x%20", "dot or a space"), ("a%3Cb", "'<'"), ("a%7Cb", "'|'"), ("tab%09x", "'\\t'"),
                        ("x" * 256, "255 bytes")):
        for method in ("PUT", "GET", "DELETE"):
            refused = client.request(method, f"/files/{name}", content=b"x" if method == "PUT" else None)
            assert refused.status_code == 400, (method, name, refused.text)
            assert words in refused.json()["error"]["message"], (name, refused.json())
    assert "CON" not in {f["path"] for f in client.get("/files").json()["files"]}


def test_a_lone_surrogate_in_an_answer_passes_through(client: httpx.Client) -> None:
    # A file name that is not UTF-8, read back through os.fsdecode, escaped in JSON.
    answer = client.post("/exec", content=b"import os\nos.fsdecode(b'report\\xff.txt')")
    assert answer.status_code == 200 and answer.json()["result"] == "report\udcff.txt"
