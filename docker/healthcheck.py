#!/usr/bin/env python3
"""Container health check: exit 0 when this container's server answers GET /health with 200.

    blender-http-healthcheck worker    # the add-on, on $BLENDER_HTTP_PORT (default 7777)
    blender-http-healthcheck gateway   # the gateway, on $BLENDER_HTTP_GATEWAY_PORT (default 8000)

Standard library only, so an image needs no curl; the port comes from the same variable
the server reads, so a changed port keeps the check right.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

# role -> (variable holding the port, the server's default port)
PORTS = {"worker": ("BLENDER_HTTP_PORT", "7777"), "gateway": ("BLENDER_HTTP_GATEWAY_PORT", "8000")}
TIMEOUT_S = 5.0


def health_url(role: str) -> str:
    """The /health URL of the server of this role inside this container."""
    variable, default = PORTS[role]
    return f"http://127.0.0.1:{os.environ.get(variable) or default}/health"


def check(url: str) -> int:
    """0 if url answers 200, else 1 (with the reason on stderr)."""
    # No proxy: a proxy from the environment cannot reach this container's loopback.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=TIMEOUT_S) as response:
            status = response.status
    except urllib.error.HTTPError as exc:  # 503: a gateway with no healthy backend
        status = exc.code
    except OSError as exc:  # refused, timed out, reset
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"unhealthy: {url} answered {status}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in PORTS:
        print(f"usage: blender-http-healthcheck {{{'|'.join(PORTS)}}}", file=sys.stderr)
        return 2
    return check(health_url(argv[0]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
