"""Where the client connects and with which token, when the caller does not say."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:7777"


def default_url() -> str:
    """$BLENDER_HTTP_URL, else http://127.0.0.1:7777."""
    return os.environ.get("BLENDER_HTTP_URL") or DEFAULT_URL


def default_token() -> str | None:
    """$BLENDER_HTTP_TOKEN, else the contents of $BLENDER_HTTP_TOKEN_FILE, else None."""
    token = os.environ.get("BLENDER_HTTP_TOKEN")
    if token:
        return token
    token_file = os.environ.get("BLENDER_HTTP_TOKEN_FILE")
    if token_file:
        return Path(token_file).read_text().strip() or None
    return None
