"""A render or export on a full disk: never 200 with a truncated file. Blender prints
"Saved:" even when the disk filled up under it, so the server checks what was written
and answers 507 InsufficientStorage (an async render job fails with it).

The work folder is a tiny tmpfs mounted for the test (root only; skipped otherwise)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.blender import servers
from tests.conftest import missing

from .conftest import assert_healthy

RENDER = {"engine": "BLENDER_WORKBENCH", "width": 256, "height": 256}


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs, unmounted after the test."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        missing("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode:
        missing(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path, leave: int, name: str = "filler") -> Path:
    """A file that leaves about `leave` bytes free on folder's filesystem."""
    filler = folder / name
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    with open(filler, "wb") as out, contextlib.suppress(OSError):
        out.write(b"\0" * max(0, free - leave))
    return filler


def test_a_render_or_export_on_a_full_disk_is_507_not_a_truncated_file(
        own_server: Callable[..., servers.Running], tiny_disk: Path) -> None:
    server = own_server("module", BLENDER_HTTP_WORKDIR=str(tiny_disk))
    filler = fill(tiny_disk, leave=12 * 1024)  # room to start a PNG, not to finish it
    with server.client() as http:
        answer = http.post("/render", json=RENDER)
        assert answer.status_code == 507, answer.text[:300]
        error = answer.json()["error"]
        assert error["type"] == "InsufficientStorage" and "disk is full" in error["message"]

        queued = http.post("/render", json=RENDER, headers={"Prefer": "respond-async"})
        assert queued.status_code == 202
        job = http.get(f"/jobs/{queued.json()['id']}", params={"wait": 60}).json()
        assert job["status"] == "failed", job
        assert job["envelope"]["error"]["type"] == "InsufficientStorage"

        fill(tiny_disk, leave=0, name="filler-2")
        exported = http.post("/export", params={"format": "glb"})
        assert exported.status_code == 507, exported.text[:300]
        assert exported.json()["error"]["type"] == "InsufficientStorage"

        # Nothing half-written stays behind, and with room again all is well.
        for path in tiny_disk.rglob("*"):
            if path.is_file() and path.name.startswith("filler"):
                path.unlink()
        leftovers = [p for p in tiny_disk.rglob("*") if p.is_file()]
        assert leftovers == [], leftovers
        good = http.post("/render", json={**RENDER, "width": 32, "height": 32})
        assert good.status_code == 200 and good.content.endswith(b"IEND\xaeB`\x82")
        assert http.post("/export", params={"format": "glb"}).status_code == 200
    assert not filler.exists()
    assert_healthy(server)
