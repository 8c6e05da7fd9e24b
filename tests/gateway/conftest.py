from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.blender import servers
from tests.conftest import missing
from tests.gateway import gateways

KEY = "test-key-4f1d9a0c2b7e"
WORKER_TOKEN = "worker-token-8c3e1f"
# Tests of pure logic that run without Blender.
UNIT_FILES = {"test_settings.py", "test_choice.py", "test_contract.py", "test_fastlane.py",
              "test_upstream.py", "test_layers.py", "test_caller_keys.py",
              "test_progress.py", "test_joined_writes.py", "test_access_log.py",
              "test_metrics_tally.py", "test_job_envelopes.py"}


def _needs_module_mode() -> None:
    reason = servers.availability("module")
    if reason:
        missing(reason)


@pytest.fixture(scope="session")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Running]:
    """A real module-mode worker that wants a token (the gateway holds it, clients never see it)."""
    _needs_module_mode()
    running = servers.start("module", tmp_path_factory.mktemp("worker"),
                            env={"BLENDER_HTTP_TOKEN": WORKER_TOKEN})
    yield running
    running.stop()


@pytest.fixture(scope="session")
def second_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Running]:
    _needs_module_mode()
    running = servers.start("module", tmp_path_factory.mktemp("worker2"),
                            env={"BLENDER_HTTP_TOKEN": WORKER_TOKEN})
    yield running
    running.stop()


@pytest.fixture(scope="session")
def gateway(worker: servers.Running, tmp_path_factory: pytest.TempPathFactory) -> Iterator[gateways.Gateway]:
    """The real gateway, with an API key, in front of one worker. Its tests (the schema fuzzer
    above all) send many wrong keys on purpose: no throttle here (test_guard.py tests it)."""
    running = gateways.start(tmp_path_factory.mktemp("gateway"), "--backend", worker.url, key=KEY,
                             env={"BLENDER_HTTP_TOKEN": WORKER_TOKEN,
                                  "BLENDER_HTTP_GATEWAY_AUTH_FAILURES": "1000000"})
    yield running
    running.stop()


@pytest.fixture
def client(gateway: gateways.Gateway) -> Iterator[httpx.Client]:
    with gateway.client() as c:
        yield c


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/gateway" in str(item.fspath) and item.fspath.basename not in UNIT_FILES:
            item.add_marker(pytest.mark.blender)
