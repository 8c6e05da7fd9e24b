"""The access log: a line per request, `blender_http_gateway.access` at INFO.

Where logging is as the gateway configured it (one stream handler on the root logger, the
gateway's format: GatewaySettings.configure_logging), the line is formatted and written
here, as that handler would write it: the logging module's record, filters, handler and
formatter calls cost the gateway about a tenth of its CPU per proxied request. Any other
configuration (another handler or format, filters, a test's capture) gets its lines through
the logging module, as before."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from typing import Any

from ..settings import LOG_FORMAT

access_log = logging.getLogger("blender_http_gateway.access")
ACCESS_LINE = "%s %s %s %d %.1fms backend=%s id=%s"
# Anything but printable ASCII in a logged path is written as an escape: no forged lines.
UNPRINTABLE = re.compile(r"[^\x21-\x7e]")


class AccessLog:
    def __init__(self) -> None:
        # The handler found plain once (its formatter is checked then), and the time stamp
        # of the current second.
        self._plain: logging.StreamHandler[Any] | None = None
        self._second = -1
        self._stamp = ""

    def write(self, scope: Mapping[str, Any], status: int, seconds: float) -> None:
        """The line of the request of scope, answered with status after seconds."""
        if not access_log.isEnabledFor(logging.INFO):
            return
        state = scope["state"]
        args = (_client(scope), scope["method"], _logged_path(scope), status, seconds * 1000,
                state.get("backend", "-"), state["request_id"])
        handler = self._plain_handler()
        if handler is None:
            # The record is made here rather than by info(), which would walk the stack for
            # the caller's file and line: the same on every line of this log.
            access_log.handle(access_log.makeRecord(access_log.name, logging.INFO, __file__, 0,
                                                    ACCESS_LINE, args, None, "access"))
            return
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        millis = int((now - second) * 1000)
        line = f"{self._stamp},{millis:03d} INFO {access_log.name}: {ACCESS_LINE % args}\n"
        assert handler.lock is not None  # made with every handler
        with handler.lock:
            try:
                handler.stream.write(line)
                handler.stream.flush()
            except Exception:  # as the handler would: a closed or broken stream is reported
                handler.handleError(access_log.makeRecord(access_log.name, logging.INFO, __file__,
                                                          0, ACCESS_LINE, args, None, "access"))

    def _plain_handler(self) -> logging.StreamHandler[Any] | None:
        """The root's one stream handler, when it alone writes access lines, at INFO, in the
        gateway's format, with no filter anywhere on the way; else None."""
        root = logging.root
        handlers = root.handlers
        if (len(handlers) != 1 or access_log.handlers or access_log.filters or root.filters
                or not access_log.propagate):
            return None
        handler = handlers[0]
        if handler is not self._plain:
            self._plain = handler if isinstance(handler, logging.StreamHandler) and _plain(handler) else None
        if self._plain is None or handler.filters or handler.level > logging.INFO:
            return None
        parent = access_log.parent
        while parent is not None and parent is not root:
            if parent.handlers or parent.filters or not parent.propagate:
                return None
            parent = parent.parent
        return self._plain


def _plain(handler: logging.Handler) -> bool:
    formatter = handler.formatter
    return (type(handler) is logging.StreamHandler and type(formatter) is logging.Formatter
            and formatter._fmt == LOG_FORMAT and formatter.datefmt is None
            and formatter.default_time_format == "%Y-%m-%d %H:%M:%S"
            and formatter.converter is time.localtime and formatter.default_msec_format == "%s,%03d")


def _client(scope: Mapping[str, Any]) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "-"


def _logged_path(scope: Mapping[str, Any]) -> str:
    """The path as the client sent it (still percent-encoded), control characters escaped."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else str(scope["path"])
    return UNPRINTABLE.sub(lambda found: f"\\x{ord(found.group()):02x}" if ord(found.group()) < 256
                           else f"\\u{ord(found.group()):04x}", path)
