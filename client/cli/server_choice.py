"""Which server a CLI command talks to, and with which token."""

from __future__ import annotations

import os
from typing import Any

from .. import settings
from ..local import launcher, state


class AmbiguousServer(Exception):
    """Several recorded servers run and nothing says which one to use."""


def choose(url: str | None, token: str | None) -> tuple[str, str | None]:
    """--url, else $BLENDER_HTTP_URL, else the one running server that `start` or `serve`
    recorded (several: AmbiguousServer, never a guess), else the default; the token likewise:
    --token, else $BLENDER_HTTP_TOKEN(_FILE), else the recorded one."""
    explicit_token = token if token is not None else settings.default_token()
    url = url or os.environ.get("BLENDER_HTTP_URL")
    if url:
        return url, explicit_token
    records = _running_records()
    if len(records) > 1:
        urls = ", ".join(f"{r['url']} ({r.get('by', 'start')}, pid {r['pid']})" for r in records)
        raise AmbiguousServer(f"several servers run ({urls}): give --url or set BLENDER_HTTP_URL")
    if records:
        recorded_token = records[0].get("token")
        return str(records[0]["url"]), explicit_token if explicit_token is not None else recorded_token
    return settings.DEFAULT_URL, explicit_token


def _running_records() -> list[dict[str, Any]]:
    # A record whose process is gone (a crash, a reboot) names no server.
    return [r for r in state.load_all() if isinstance(r.get("pid"), int) and launcher.alive(r["pid"])]
