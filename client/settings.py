"""Which server the client talks to and with which token, when the caller does not say:
the one rule of the CLI, Blender(), AsyncBlender(), %%blender and `blender-http mcp`.

  the URL:   url= (--url), else $BLENDER_HTTP_URL, else the one running server that
             `blender-http start` or `serve` recorded, else http://127.0.0.1:7777;
  the token: token= (--token), else $BLENDER_HTTP_TOKEN (or the file $BLENDER_HTTP_TOKEN_FILE
             names), else the token recorded with the chosen server.

Several recorded servers and nothing to choose by is an error (AmbiguousServer), never a
guess. Servers that a gateway or `mcp --spawn` started for themselves are not recorded, so
they are never candidates.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DEFAULT_URL = "http://127.0.0.1:7777"


class AmbiguousServer(ValueError):
    """Several recorded servers run and nothing says which one to use."""


def choose(url: str | None = None, token: str | None = None) -> tuple[str, str | None]:
    """(url, token) by the rule above."""
    explicit_token = token if token is not None else default_token()
    url = url or os.environ.get("BLENDER_HTTP_URL")
    records = _recorded()
    if url:
        if explicit_token is None:  # the token of the server at that URL, if we started it
            same = [r for r in records if _same_url(str(r.get("url", "")), url)]
            if len(same) == 1:
                return url, same[0].get("token")
        return url, explicit_token
    if len(records) > 1:
        urls = ", ".join(f"{r['url']} ({r.get('by', 'start')}, pid {r['pid']})" for r in records)
        raise AmbiguousServer(f"several servers run ({urls}): give --url (url=) or set BLENDER_HTTP_URL")
    if records:
        recorded_token = records[0].get("token")
        return str(records[0]["url"]), explicit_token if explicit_token is not None else recorded_token
    return DEFAULT_URL, explicit_token


def default_url() -> str:
    """The URL choose() picks (the token aside)."""
    return choose()[0]


def default_token() -> str | None:
    """$BLENDER_HTTP_TOKEN, else the contents of $BLENDER_HTTP_TOKEN_FILE, else None."""
    token = os.environ.get("BLENDER_HTTP_TOKEN")
    if token:
        return token
    token_file = os.environ.get("BLENDER_HTTP_TOKEN_FILE")
    if token_file:
        return Path(token_file).read_text().strip() or None
    return None


def _recorded() -> list[dict[str, Any]]:
    from .local import state  # this machine's records: standard library only

    return state.running()


def _same_url(a: str, b: str) -> bool:
    def key(url: str) -> str:
        url = url.rstrip("/").lower().replace("://localhost:", "://127.0.0.1:")
        return url
    return key(a) == key(b)
