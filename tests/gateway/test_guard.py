"""What the gateway refuses to let a caller without a key do: forge log lines, guess keys fast."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.blender import servers
from tests.gateway import gateways
from tests.gateway.conftest import KEY, WORKER_TOKEN


@pytest.fixture(scope="module")
def guarded(worker: servers.Running, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[gateways.Gateway]:
    """A gateway of its own: its throttle state must not leak into other tests."""
    running = gateways.start(tmp_path_factory.mktemp("guarded"), "--backend", worker.url,
                             key=KEY, env={"BLENDER_HTTP_TOKEN": WORKER_TOKEN})
    yield running
    running.stop()


def test_the_access_log_escapes_control_characters_in_paths(guarded: gateways.Gateway) -> None:
    with guarded.client(key=None) as anonymous:
        anonymous.get("/health%0d%0aFORGED-LINE%0a%1b[31m")
        anonymous.get("/health%0aFORGED-LINE")
    deadline = time.monotonic() + 10
    while guarded.log_text().count("FORGED-LINE") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = guarded.log_text().splitlines()
    logged = [line for line in lines if "FORGED-LINE" in line]
    assert len(logged) == 2, lines[-10:]
    assert not any(line.startswith("FORGED-LINE") for line in lines)
    assert all("/health%0d%0aFORGED-LINE" in line or "/health%0aFORGED-LINE" in line for line in logged)
    assert "\x1b" not in guarded.log_text()


def test_repeated_wrong_keys_are_throttled_but_holders_of_a_key_are_not(
        guarded: gateways.Gateway) -> None:
    with guarded.client() as good, guarded.client(key="wrong-key-guess-0000") as bad, \
            guarded.client(key=None) as anonymous:
        assert good.post("/exec", content="1").status_code == 200
        statuses = [bad.get("/jobs").status_code for _ in range(30)]
        assert statuses[0] == 401
        assert 429 in statuses, statuses
        throttled = bad.get("/jobs")
        assert throttled.status_code == 429
        assert throttled.json()["error"]["type"] == "TooManyRequests"
        assert int(throttled.headers["retry-after"]) >= 1
        # No key at all is no guess (401 as ever); the holder of a key is not slowed at all.
        assert anonymous.get("/jobs").status_code == 401
        assert [good.post("/exec", content="6 * 7").json()["result"] for _ in range(5)] == [42] * 5
        # Open paths stay open.
        assert anonymous.get("/health").status_code == 200
