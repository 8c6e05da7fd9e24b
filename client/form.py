"""Binary arguments as a multipart/form-data exec body (SPEC 3.7), built with httpx `files=`.

The server wraps an .npy part's data where it lies in the request body, unless the data
starts at an address its dtype cannot be read from (then it copies it). httpx lays a form
out as, per part, "--boundary" CRLF, the part's header lines, CRLF, the data, CRLF; so
where each array's data will start is known before sending, and the .npy header (which
numpy pads with spaces anyway) is padded so that the data starts at a multiple of 64.
Arrays after a file object (whose size is not looked at) are sent unpadded.
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path
from typing import Any

from .envelope import exec_body, split_args

OCTET = "application/octet-stream"
NPY = "application/x-npy"
JSON = "application/json"
ALIGN = 64
STREAM_ABOVE = 1024 * 1024
# Names httpx writes as they are (it percent-escapes quotes and control characters).
_PLAIN_NAME = re.compile(r'[^"\\\x00-\x1f]*')


def exec_content(code: str, args: dict[str, Any] | None, session: str | None,
                 timeout: float | None) -> dict[str, Any]:
    """httpx arguments for an exec body: JSON, or multipart/form-data when an argument is a
    numpy array, bytes or a binary file: the JSON body as the `request` part (first, so a
    gateway finds the session early), then one part per binary argument."""
    plain, binary = split_args(args)
    body = exec_body(code, plain, session, timeout)
    if not binary:
        return {"json": body}
    boundary = os.urandom(16).hex()
    request = json.dumps(body).encode()
    files: list[tuple[str, Any]] = [("request", (None, _streamed(request), JSON))]
    at = _after(_part_head(boundary, "request", None, JSON), request, 0)
    for name, value in binary.items():
        filename, content, kind = binary_part(name, value, boundary, at)
        files.append((name, (filename, _streamed(content), kind)))
        at = _after(_part_head(boundary, name, filename, kind), content, at)
    return {"files": files, "headers": {"Content-Type": f"multipart/form-data; boundary={boundary}"}}


def _streamed(content: Any) -> Any:
    """Large bytes as a file object, which httpx sends in 64 KiB reads: handed bytes, its
    transport sends them by slicing off what each send() took, copying the rest every time
    (a 256 MB part took 15 s instead of 0.3)."""
    if isinstance(content, bytes) and len(content) > STREAM_ABOVE:
        return io.BytesIO(content)
    return content


def binary_part(name: str, value: Any, boundary: str, at: int | None) -> tuple[str | None, Any, str]:
    """(filename, content, type) of one binary argument: an array as numpy's .npy format, a
    file by its own name (.npy files as arrays), bytes as they are. at: where the part
    starts in the body, if known."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return None, bytes(value), OCTET
    if hasattr(value, "read"):
        filename = Path(str(getattr(value, "name", name))).name
        return filename, value, NPY if filename.lower().endswith(".npy") else OCTET
    filename = f"{name}.npy"
    head = _part_head(boundary, name, filename, NPY)
    return filename, npy_bytes(value, None if at is None or head is None else at + head), NPY


def npy_bytes(array: Any, data_at: int | None) -> bytes:
    """array in numpy's .npy format (version 1.0), its header padded so the data starts at a
    multiple of ALIGN bytes into the body when data_at (the .npy's own offset) is known."""
    import numpy
    from numpy.lib import format as npy_format

    array = numpy.ascontiguousarray(array)
    if array.dtype.hasobject:
        raise TypeError("an object array cannot be sent (the server never unpickles)")
    header = repr({k: v for k, v in sorted(npy_format.header_data_from_array_1_0(array).items())})
    fixed = 6 + 2 + 2  # magic, version, header length
    base = fixed + len(header) + 1  # the header ends with a newline
    padding = (-base) % ALIGN if data_at is None else (-(data_at + base)) % ALIGN
    text = (header + " " * padding + "\n").encode("latin-1")
    prefix = npy_format.MAGIC_PREFIX + bytes([1, 0]) + len(text).to_bytes(2, "little") + text
    return b"".join([prefix, memoryview(array).cast("B") if array.size else b""])


def _part_head(boundary: str, name: str, filename: str | None, kind: str) -> int | None:
    """Bytes httpx writes before a part's data (the boundary line and the header lines);
    None for names it escapes, whose length is not worth predicting (the server copies)."""
    if not _PLAIN_NAME.fullmatch(name + (filename or "")):
        return None
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
    if filename:
        head += f'; filename="{filename}"'
    return len(f"{head}\r\nContent-Type: {kind}\r\n\r\n".encode())


def _after(head: int | None, content: Any, at: int | None) -> int | None:
    """Where the next part starts: past this one's head, its bytes and their CRLF."""
    if at is None or head is None or not isinstance(content, bytes):
        return None
    return at + head + len(content) + 2
