"""Job ids as clients see them: the backend's local id prefixed with the backend's key
(encoded: the backend's tag, which X-Blender-Backend carries too).

Rewritten on the way out (views, exec envelopes, the `done` event, X-Job-Id and Location in
the proxy) and undone on the way in (choice.job_backend)."""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

from .backends import Backend

JOB_SEPARATOR = "."
# The header that names a backend (answers carry it; a request may pin itself with it).
BACKEND_HEADER = b"x-blender-backend"
# The add-on writes compact JSON with "job" as the envelope's last key: rewriting the tail
# spares decoding and re-encoding a large exec result.
# Found without a regular expression (on every exec): the key, an id of these characters,
# then `"}` and perhaps white space.
EXEC_JOB_KEY = b',"job":"'
ID_BYTES = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-"
WHITE_SPACE = b" \t\n\r\x0b\x0c"
DONE_EVENT = re.compile(rb"(?:^|\n)event: done\n")


def job_id(backend: Backend, local_id: str) -> str:
    """The gateway's id of a backend's job: the backend's key, encoded, then the local id."""
    return _job_prefix(backend.key) + local_id


@functools.lru_cache(maxsize=1024)  # a few backends, asked on every exec
def _job_prefix(key: str) -> str:
    return _encode_key(key) + JOB_SEPARATOR


def backend_tag(backend: Backend) -> str:
    """The opaque name of a backend that clients send back in X-Blender-Backend to pin to it."""
    return _encode_key(backend.key)


@functools.lru_cache(maxsize=1024)  # a few backends, asked on every request
def _encode_key(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).rstrip(b"=").decode("ascii")


def decode_key(encoded: str) -> str:
    """The backend key a tag (or a job id's first part) encodes; "" if it encodes none."""
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except ValueError:
        return ""


def exec_envelope(backend: Backend) -> Callable[[bytes], bytes]:
    def rewrite(body: bytes) -> bytes:
        end = len(body)
        if not body.endswith(b'"}'):
            end = len(body.rstrip(WHITE_SPACE))
        start = body.rfind(EXEC_JOB_KEY, max(0, end - 200), end)
        closed = start >= 0 and body.endswith(b'"}', 0, end)
        local = body[start + len(EXEC_JOB_KEY):end - 2] if closed else b""
        if not local or local.translate(None, ID_BYTES):  # none, or a byte no id holds
            return _envelope_slow(backend, body)
        # job_id() put together in bytes: the local id is ASCII (ID_BYTES).
        return b"".join((body[:start + len(EXEC_JOB_KEY)], _job_prefix(backend.key).encode(), local, b'"}'))
    return rewrite


def _envelope_slow(backend: Backend, body: bytes) -> bytes:
    # Envelopes of jobs stopped from outside carry "job" before "error".
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if not isinstance(data, dict) or not isinstance(data.get("job"), str):
        return body
    data["job"] = job_id(backend, data["job"])
    return json.dumps(data, separators=(",", ":")).encode()


def job_view(backend: Backend) -> Callable[[bytes], bytes]:
    """Rewrite a job view's ids; anything else (an error document) passes as it came."""
    def rewrite(body: bytes) -> bytes:
        try:
            data = json.loads(body)
        except ValueError:
            return body
        if not (isinstance(data, dict) and "id" in data):
            return body
        return json.dumps(view(backend, data), separators=(",", ":")).encode()
    return rewrite


def view(backend: Backend, data: dict[str, Any]) -> dict[str, Any]:
    """A job view with gateway ids, naming its backend (send it as X-Blender-Backend to fetch
    the job's files, e.g. an async render's PNG)."""
    data["backend"] = backend_tag(backend)
    if isinstance(data.get("id"), str):
        data["id"] = job_id(backend, data["id"])
    envelope = data.get("envelope")
    if isinstance(envelope, dict) and isinstance(envelope.get("job"), str):
        envelope["job"] = job_id(backend, envelope["job"])
    return data


def events(backend: Backend) -> Callable[[AsyncIterator[bytes]], AsyncIterator[bytes]]:
    """Rewrite the envelope of the `done` event; every other event passes as it comes."""
    async def rewrite(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        pending = b""
        async for chunk in chunks:
            pending += chunk
            cut = pending.rfind(b"\n\n")
            if cut < 0:
                continue
            ready, pending = pending[:cut + 2], pending[cut + 2:]
            yield _done_event(backend, ready) if DONE_EVENT.search(ready) else ready
        if pending:
            yield pending
    return rewrite


def _done_event(backend: Backend, block: bytes) -> bytes:
    out = []
    for event in block.split(b"\n\n"):
        if DONE_EVENT.search(event):
            lines = event.split(b"\n")
            for i, line in enumerate(lines):
                if line.startswith(b"data: "):
                    lines[i] = b"data: " + exec_envelope(backend)(line[6:])
            event = b"\n".join(lines)
        out.append(event)
    return b"\n\n".join(out)
