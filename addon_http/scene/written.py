"""Checking a file Blender wrote before answering with it.

Blender reports success (and prints "Saved:") even when the disk filled up under it,
leaving a truncated file; sending that with 200 would pass a broken image or model off
as good. A PNG must end with its IEND chunk; any written file is checked against a full
disk with a small probe write next to it."""

from __future__ import annotations

import errno
import os
import tempfile

from ..errors import HttpError
from ..protocol import STATUS_TYPES

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The last chunk of every PNG: length 0, type IEND, its CRC.
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
GLB_MAGIC = b"glTF"
FULL = (errno.ENOSPC, errno.EDQUOT)
PROBE_BYTES = 4096


def check_png(path: str, what: str = "image") -> int:
    """The size of the complete PNG at path; 507 (full disk) or 500 when it is cut short."""
    size = os.path.getsize(path)
    with open(path, "rb") as file:
        start = file.read(len(PNG_SIGNATURE))
        file.seek(max(0, size - len(PNG_END)))
        end = file.read()
    if start != PNG_SIGNATURE or end != PNG_END:
        raise incomplete(path, f"the {what} Blender wrote is incomplete ({size} bytes, no PNG end)")
    return size


def check_export(path: str, format_name: str) -> int:
    """The size of an exported file; 507 when the disk filled up while it was written,
    500 when a .glb is shorter than its header says."""
    size = os.path.getsize(path)
    if format_name == "glb":
        with open(path, "rb") as file:
            header = file.read(12)
        if len(header) < 12 or header[:4] != GLB_MAGIC or int.from_bytes(header[8:], "little") != size:
            raise incomplete(path, f"the glb file the exporter wrote is incomplete ({size} bytes)")
    probe_space(os.path.dirname(path), f"the {format_name} file the exporter wrote may be incomplete")
    return size


def incomplete(path: str, message: str) -> HttpError:
    """507 when the disk by path is full (the likely cause), else 500."""
    try:
        probe_space(os.path.dirname(path), message)
    except HttpError as full:
        return full
    return HttpError(500, message)


def probe_space(folder: str, message: str) -> None:
    """507 with message and the OS error when PROBE_BYTES cannot be written in folder."""
    try:
        with tempfile.TemporaryFile(dir=folder) as probe:
            probe.write(b"\0" * PROBE_BYTES)
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        raise storage_error(exc, message) from None


def storage_error(exc: OSError, message: str) -> HttpError:
    """The answer for an OSError while writing: 507 for a full disk or quota, else 500."""
    reason = exc.strerror or str(exc)
    if exc.errno in FULL:
        return HttpError(507, f"{message}: the disk is full ({reason})", type=STATUS_TYPES[507])
    return HttpError(500, f"{message}: {reason}")
