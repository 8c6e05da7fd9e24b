"""Scratch folders inside the work folder for files Blender writes or reads on behalf of
one request (renders, exports, uploads to import); removed once the answer is sent."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from ..protocol import CHUNK
from .dirs import INTERNAL


def create(root: Path) -> Path:
    """A new empty folder of its own under the work folder."""
    folder = root / INTERNAL / secrets.token_hex(8)
    folder.mkdir(parents=True)
    return folder


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def removed_on_error(folder: Path) -> Iterator[None]:
    """Remove folder if the block fails; on success its file is still to be sent."""
    try:
        yield
    except BaseException:
        remove(folder)
        raise


class StreamThenRemove:
    """A file's bytes in blocks; its scratch folder goes when the stream is closed (sent,
    broken off, or never started, as for HEAD), which a plain generator would miss."""

    def __init__(self, path: Path, folder: Path) -> None:
        self.size = path.stat().st_size
        self._handle = open(path, "rb")
        self._folder = folder

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        block = self._handle.read(CHUNK)
        if not block:
            raise StopIteration
        return block

    def close(self) -> None:
        self._handle.close()
        remove(self._folder)


def safe_stem(filename: str | None, default: str = "upload") -> str:
    """A file name stem made of safe characters, from a client-given name (importers name
    objects after the file, e.g. STL)."""
    stem = os.path.splitext(os.path.basename((filename or "").replace("\\", "/")))[0]
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._")[:64]
    return stem or default
