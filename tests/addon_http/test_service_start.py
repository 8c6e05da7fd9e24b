"""A server that cannot start leaves nothing behind: no scratch folder in the temporary
folder, no listening socket, no thread (a `serve` on a taken port, or a launcher that went
away with the ready file's folder, used to leave its scratch folder for good)."""

from __future__ import annotations

import errno
import socket
import tempfile
import threading
from pathlib import Path

import pytest

from blender_http_addon.config import Config
from blender_http_addon.service import Service


@pytest.fixture
def temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder Service's scratch folder is made in."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("blender-http")}


def test_a_taken_port_leaves_no_scratch_folder(temp: Path) -> None:
    before = _threads()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        service = Service(Config(port=taken.getsockname()[1]), mode="module")
        assert [p.name for p in temp.iterdir()] == [service.files.root.name]
        with pytest.raises(OSError) as refused:
            service.start()
        assert refused.value.errno == errno.EADDRINUSE  # Windows: its WSA code, which errno names
    assert list(temp.iterdir()) == []
    assert service.stopped.is_set()
    assert _threads() == before


def test_an_unwritable_ready_file_stops_the_started_server(temp: Path) -> None:
    before = _threads()
    service = Service(Config(port=0, ready_file=str(temp / "gone" / "ready.json")), mode="module")
    with pytest.raises(OSError):
        service.start()
    port = service.port
    assert list(temp.iterdir()) == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    for thread in threading.enumerate():
        if thread.name.startswith("blender-http") and thread.name not in before:
            thread.join(5)
            assert not thread.is_alive(), thread.name


def test_a_started_server_keeps_its_scratch_folder_until_it_stops(temp: Path) -> None:
    service = Service(Config(port=0), mode="module")
    service.start()
    try:
        assert service.files.root.parent == temp and service.files.root.is_dir()
        socket.create_connection(("127.0.0.1", service.port), timeout=5).close()
    finally:
        service.stop(grace=0.0)
    assert list(temp.iterdir()) == []
