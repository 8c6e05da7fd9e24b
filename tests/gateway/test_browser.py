"""A web page cannot make the user's browser run code through the gateway: foreign
Origins, cross-site fetches and (without API keys) rebound Host names get 403, and the
code never reaches Blender; the gateway's own pages (Swagger UI) still work."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.blender import servers
from tests.gateway import gateways
from tests.gateway.conftest import WORKER_TOKEN


def _ran(client: httpx.Client, session: str) -> bool:
    """Did a refused request's code (which sets `ran` in its session) reach Blender?"""
    answer = client.post("/exec", json={"code": "'ran' in globals()", "session": session})
    assert answer.status_code == 200, answer.text
    return bool(answer.json()["result"])


def _refused(answer: httpx.Response, words: str) -> None:
    assert answer.status_code == 403, answer.text
    error = answer.json()["error"]
    assert error["type"] == "Forbidden" and words in error["message"]


def test_a_foreign_origin_is_refused_even_with_a_key(gateway: gateways.Gateway) -> None:
    with gateway.client() as c:
        answer = c.post("/exec?session=foreign-origin", content=b"ran = True",
                        headers={"Origin": "https://evil.example", "Content-Type": "text/plain"})
        _refused(answer, "Origin")
        assert not _ran(c, "foreign-origin")


def test_a_cross_site_fetch_without_origin_is_refused(gateway: gateways.Gateway) -> None:
    with gateway.client() as c:
        answer = c.post("/exec?session=cross-site", content=b"ran = True",
                        headers={"Sec-Fetch-Site": "cross-site", "Content-Type": "text/plain"})
        _refused(answer, "cross-site")
        assert not _ran(c, "cross-site")


def test_the_gateways_own_pages_may_call_it(gateway: gateways.Gateway) -> None:
    with gateway.client() as c:
        answer = c.post("/exec", content=b"1 + 1", headers={
            "Origin": gateway.url, "Sec-Fetch-Site": "same-origin", "Content-Type": "text/plain"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["result"] == 2


@pytest.fixture(scope="module")
def open_gateway(worker: servers.Running, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[gateways.Gateway]:
    """A gateway without API keys, which only a loopback bind allows."""
    running = gateways.start(Path(tmp_path_factory.mktemp("open-gateway")), "--backend", worker.url,
                             env={"BLENDER_HTTP_TOKEN": WORKER_TOKEN})
    yield running
    running.stop()


def test_without_keys_a_rebound_host_name_is_refused(open_gateway: gateways.Gateway) -> None:
    port = open_gateway.url.rsplit(":", 1)[1]
    with open_gateway.client(key=None) as c:
        # A page on rebind.example, whose name now resolves to 127.0.0.1, is same-origin with it.
        answer = c.post("/exec?session=rebound", content=b"ran = True", headers={
            "Host": f"rebind.example:{port}", "Origin": f"http://rebind.example:{port}",
            "Content-Type": "text/plain"})
        _refused(answer, "DNS rebinding")
        assert not _ran(c, "rebound")
        for host in (f"localhost:{port}", f"127.0.0.1:{port}"):
            answer = c.post("/exec", content=b"1 + 1", headers={"Host": host, "Content-Type": "text/plain"})
            assert answer.status_code == 200, answer.text
        # Probes keep working whatever the Host.
        assert c.get("/health", headers={"Host": "rebind.example"}).status_code == 200
