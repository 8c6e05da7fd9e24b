"""Session handles: protocol 2026-07-28 has no Mcp-Session-Id, so state that spans calls
travels as a handle the server mints and the client passes back as a tool argument
(`session`). The handle is an exec session's name (exec_python keeps its variables under
it) and the key the gateway routes on (rendezvous hashing, as it routes `?session=`), so
every call that carries it reaches the same Blender, whichever gateway replica it hits.
Minting keeps nothing: a session starts when its first exec uses it."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from . import results
from .arguments import Arguments

if TYPE_CHECKING:
    from ..service import Service

PREFIX = "mcp-"


def open_session(service: Service, args: Arguments) -> dict[str, Any]:
    """A new session handle, and how to use it."""
    return results.data({"session": PREFIX + secrets.token_hex(12),
                         "use": "pass it as `session` to every later call"})
