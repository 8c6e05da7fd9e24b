"""Idempotency-Key through the gateway: the key goes to one worker, which runs the code once;
the same key with another request is 422; and a key belongs to the API key that sent it, so
two API keys' keys never meet."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator

import httpx
import pytest

from blender_http_addon.protocol import IDEMPOTENCY_KEY_REUSED, MAX_IDEMPOTENCY_KEY
from tests.blender import servers
from tests.gateway import gateways
from tests.gateway.conftest import KEY, WORKER_TOKEN

# Appends one line per run to a file named after the key in the worker's work folder.
COUNTING = ("name = WORKDIR + '/runs-' + args['key']\nwith open(name, 'a') as f:\n    f.write('ran\\n')\n"
            "len(open(name).readlines())")
OTHER_KEY = "test-key-2-7d2b6e91a0c4"


@pytest.fixture(scope="module")
def pair(worker: servers.Running, second_worker: servers.Running,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[gateways.Gateway]:
    running = gateways.start(tmp_path_factory.mktemp("keyed"), "--backend", worker.url,
                             "--backend", second_worker.url, key=KEY,
                             env={"BLENDER_HTTP_TOKEN": WORKER_TOKEN,
                                  "BLENDER_HTTP_API_KEYS": f"{KEY},{OTHER_KEY}"})
    yield running
    running.stop()


def test_one_key_runs_once_on_one_worker(pair: gateways.Gateway) -> None:
    with pair.client() as client:
        backends: set[str] = set()
        # Keys hash to workers at random (their ports are): try keys until both workers have
        # had some, at least four (forty on one worker would be a 1 in 2**39 chance).
        for i in range(40):
            if i >= 4 and len(backends) == 2:
                break
            key = f"gw-{i}"
            body = {"code": COUNTING, "args": {"key": key}}
            answers = [client.post("/exec", json=body, headers={"Idempotency-Key": key})
                       for _ in range(2)]
            assert [a.status_code for a in answers] == [200, 200], answers[-1].text
            assert answers[0].json()["result"] == answers[1].json()["result"] == 1
            assert len({a.headers["x-blender-backend"] for a in answers}) == 1
            assert answers[0].json()["job"] == answers[1].json()["job"]
            # The same body to /jobs is another request: the path is part of it.
            assert_reused(client.post("/jobs", json=body, headers={"Idempotency-Key": key}))
            backend = answers[0].headers["x-blender-backend"]
            backends.add(backend)
            count = client.post("/exec", json={"code": f"len(open(WORKDIR + '/runs-{key}').readlines())"},
                                headers={"X-Blender-Backend": backend})
            assert count.json()["result"] == 1
        assert len(backends) == 2, f"{i} keys, all on one worker"


def test_health_reports_each_workers_queue_bound(pair: gateways.Gateway) -> None:
    with pair.client() as client:
        backends = client.get("/health").json()["backends"]
    assert [b["max_queue"] for b in backends] == [64, 64]


def assert_reused(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text
    assert response.json()["error"]["type"] == IDEMPOTENCY_KEY_REUSED


def test_a_key_reused_with_other_code_is_422(pair: gateways.Gateway) -> None:
    key = f"reused-{uuid.uuid4().hex}"
    with pair.client() as client:
        first = client.post("/exec", json={"code": "'first'"}, headers={"Idempotency-Key": key})
        assert first.json()["result"] == "first"
        assert_reused(client.post("/exec", json={"code": "'second'"}, headers={"Idempotency-Key": key}))
        again = client.post("/exec", json={"code": "'first'"}, headers={"Idempotency-Key": key})
        assert again.json()["job"] == first.json()["job"]


def test_two_api_keys_never_share_an_idempotency_key(pair: gateways.Gateway) -> None:
    with pair.client() as one, pair.client(key=OTHER_KEY) as two:
        for i in range(8):  # several keys: two callers' keys may meet on one worker or not
            headers = {"Idempotency-Key": f"shared-{i}-{uuid.uuid4().hex}"}
            mine = one.post("/exec", json={"code": f"'one {i}'"}, headers=headers)
            theirs = two.post("/exec", json={"code": f"'two {i}'"}, headers=headers)
            assert mine.status_code == theirs.status_code == 200, theirs.text
            assert (mine.json()["result"], theirs.json()["result"]) == (f"one {i}", f"two {i}")
            # Each API key's repeat finds its own first job.
            assert one.post("/exec", json={"code": f"'one {i}'"}, headers=headers).json()["job"] \
                == mine.json()["job"]
            assert two.post("/exec", json={"code": f"'two {i}'"}, headers=headers).json()["job"] \
                == theirs.json()["job"]
            # The very same request under the same key from the other API key is a job of its own.
            same = {"code": f"'same {i}'"}
            headers = {"Idempotency-Key": f"same-{i}-{uuid.uuid4().hex}"}
            submitted = [c.post("/jobs", json=same, headers=headers) for c in (one, two)]
            assert [s.status_code for s in submitted] == [202, 202], submitted[1].text
            assert submitted[0].json()["id"] != submitted[1].json()["id"]


@pytest.mark.parametrize("length", [1, MAX_IDEMPOTENCY_KEY])
def test_keys_of_any_allowed_length_pass_the_gateway(pair: gateways.Gateway, length: int) -> None:
    key = uuid.uuid4().hex[:length].ljust(length, "k")
    with pair.client() as client:
        answers = [client.post("/exec", json={"code": "'long'"}, headers={"Idempotency-Key": key})
                   for _ in range(2)]
        assert [a.status_code for a in answers] == [200, 200], answers[0].text
        assert answers[0].json()["job"] == answers[1].json()["job"]
        assert_reused(client.post("/exec", json={"code": "'other'"}, headers={"Idempotency-Key": key}))


@pytest.mark.parametrize("key", ["", "k" * (MAX_IDEMPOTENCY_KEY + 1)])
def test_a_bad_key_is_400_at_the_gateway(pair: gateways.Gateway, key: str) -> None:
    with pair.client() as client:
        response = client.post("/jobs", json={"code": "1"}, headers={"Idempotency-Key": key})
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["message"]


@pytest.mark.parametrize("path", ["/exec", "/jobs"])
def test_a_bad_key_is_refused_before_a_large_body_is_sent(pair: gateways.Gateway, path: str) -> None:
    # A body too large for the lane goes through the route, which reads it before forwarding:
    # the key is checked first, so the answer comes while the body is still unsent.
    host, port = pair.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {KEY}\r\n"
                     "Content-Type: application/json\r\nContent-Length: 1000000\r\n"
                     f"Idempotency-Key: {'k' * (MAX_IDEMPOTENCY_KEY + 1)}\r\n\r\n".encode())
        received = b""
        while b"\r\n\r\n" not in received or not received.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            assert chunk, received
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), head
    assert json.loads(body)["error"]["message"] == (
        f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY} characters")
