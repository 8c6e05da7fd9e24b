"""Which server and token: one rule for the CLI, Blender(), AsyncBlender(), %%blender and
`blender-http mcp` (settings.choose), against records in a state folder of the test's own."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from blender_http import AsyncBlender, Blender, settings
from blender_http.local import state


@pytest.fixture
def records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("BLENDER_HTTP_STATE_DIR", str(tmp_path))
    for name in ("BLENDER_HTTP_URL", "BLENDER_HTTP_TOKEN", "BLENDER_HTTP_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    yield tmp_path


def record(port: int, token: str | None, pid: int | None = None) -> None:
    state.save(port, {"pid": pid or os.getpid(), "port": port, "url": f"http://127.0.0.1:{port}",
                      "mode": "module", "token": token, "by": "serve"})


def test_nothing_recorded_is_7777(records: Path) -> None:
    assert settings.choose() == (settings.DEFAULT_URL, None)


def test_the_one_recorded_server_with_its_token_for_every_client(records: Path) -> None:
    record(8123, "secret")
    assert settings.choose() == ("http://127.0.0.1:8123", "secret")
    with Blender() as blender:  # the same rule as the CLI: no 69-line "cannot reach :7777"
        assert blender.url == "http://127.0.0.1:8123"
        assert blender._http.headers["authorization"] == "Bearer secret"
    assert AsyncBlender().url == "http://127.0.0.1:8123"


def test_a_url_that_names_a_recorded_server_keeps_its_token(records: Path) -> None:
    record(8123, "secret")
    record(8124, "other")
    assert settings.choose("http://127.0.0.1:8124") == ("http://127.0.0.1:8124", "other")
    assert settings.choose("http://localhost:8124/") == ("http://localhost:8124/", "other")
    assert settings.choose("http://127.0.0.1:8124", "given") == ("http://127.0.0.1:8124", "given")
    assert settings.choose("http://127.0.0.1:9999") == ("http://127.0.0.1:9999", None)


def test_the_environment_comes_before_the_records(records: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record(8123, "secret")
    monkeypatch.setenv("BLENDER_HTTP_URL", "http://127.0.0.1:8555")
    monkeypatch.setenv("BLENDER_HTTP_TOKEN", "env")
    assert settings.choose() == ("http://127.0.0.1:8555", "env")


def test_several_servers_are_never_a_guess(records: Path) -> None:
    record(8123, None)
    record(8124, None)
    with pytest.raises(settings.AmbiguousServer, match=r"8123.*8124"):
        settings.choose()
    with pytest.raises(settings.AmbiguousServer):
        Blender()


def test_a_record_whose_process_is_gone_names_no_server(records: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    record(8123, "secret", pid=int(gone.stdout))
    assert settings.choose() == (settings.DEFAULT_URL, None)
