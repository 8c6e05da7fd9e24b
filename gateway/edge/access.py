"""The access log: a line per request, `blender_http_gateway.access` at INFO.

Where logging is as the gateway configured it (one stream handler on the root logger, the
gateway's format: GatewaySettings.configure_logging), the lines are formatted here as that
handler would format them, those of the last FLUSH_AFTER_S together: the logging module's
record, filter, handler and formatter calls and a write per line cost the gateway about a
tenth of its CPU per proxied request, and the same few steps run over and over cost less
than once each among everything else a request does. So the lines reach the log up to
FLUSH_AFTER_S late (all of them when the gateway stops or its interpreter exits; a gateway
killed with SIGKILL loses those last ones). Any other configuration (another handler or
format, filters, a test's capture) gets its lines through the logging module, one by one,
as they happen."""

from __future__ import annotations

import asyncio
import atexit
import functools
import logging
import re
import time
import weakref
from collections.abc import Mapping
from typing import Any

from ..settings import LOG_FORMAT

access_log = logging.getLogger("blender_http_gateway.access")
ACCESS_LINE = "%s %s %s %d %.1fms backend=%s id=%s"
# A whole line as the gateway's LOG_FORMAT writes it: time stamp, milliseconds, the line.
LINE = f"%s,%03d INFO {access_log.name}: {ACCESS_LINE}\n"
# Anything but printable ASCII in a logged path is written as an escape: no forged lines.
UNPRINTABLE = re.compile(r"[^\x21-\x7e]")
# Lines wait at most this long, or until this many wait, to be written together.
FLUSH_AFTER_S = 0.1
FLUSH_LINES = 500


class AccessLog:
    def __init__(self) -> None:
        _ALL.add(self)  # its waiting lines are written at exit, however the gateway ends
        # The handler found plain once (its formatter is checked then), and the time stamp
        # of the current second.
        self._plain: logging.StreamHandler[Any] | None = None
        self._second = -1
        self._stamp = ""
        # The lines not yet written, and the handler whose stream they go to.
        self._waiting: list[tuple[Any, ...]] = []
        self._to: logging.StreamHandler[Any] | None = None

    def write(self, scope: Mapping[str, Any], status: int, seconds: float) -> None:
        """The line of the request of scope, answered with status after seconds."""
        if not access_log.isEnabledFor(logging.INFO):
            return
        state = scope["state"]
        handler = self._plain_handler()
        if handler is None:
            self.flush()  # lines that wait come first
            # The record is made here rather than by info(), which would walk the stack for
            # the caller's file and line: the same on every line of this log.
            access_log.handle(access_log.makeRecord(
                access_log.name, logging.INFO, __file__, 0, ACCESS_LINE,
                (_client(scope.get("client")), scope["method"], _logged_path(scope), status,
                 seconds * 1000, state.get("backend", "-"), state["request_id"]), None, "access"))
            return
        if self._to is not handler:
            self.flush()
            self._to = handler
        # What the line says, kept as it is: the lines are made when they are written, all
        # together (the same few steps over and over cost less than once per request).
        self._waiting.append((time.time(), scope.get("client"), scope["method"], scope.get("raw_path"),
                              scope["path"], status, seconds, state.get("backend", "-"),
                              state["request_id"]))
        if len(self._waiting) == 1:
            try:
                asyncio.get_running_loop().call_later(FLUSH_AFTER_S, self.flush)
            except RuntimeError:  # no loop to wait in: at once
                self.flush()
        elif len(self._waiting) >= FLUSH_LINES:
            self.flush()

    def flush(self) -> None:
        """Write the lines that wait."""
        waiting, handler = self._waiting, self._to
        if not waiting or handler is None:
            return
        self._waiting = []
        lines = []
        for now, client, method, raw_path, path, status, seconds, backend, request_id in waiting:
            second = int(now)
            if second != self._second:
                self._second = second
                self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
            lines.append(LINE % (self._stamp, int((now - second) * 1000), _client(client), method,
                                 _escaped_path(raw_path, path), status, seconds * 1000, backend,
                                 request_id))
        assert handler.lock is not None  # made with every handler
        with handler.lock:
            try:
                handler.stream.write("".join(lines))
                handler.stream.flush()
            except Exception:  # as the handler would: a closed or broken stream is reported
                handler.handleError(logging.makeLogRecord(
                    {"name": access_log.name, "msg": "%d access log lines not written",
                     "args": (len(lines),), "levelno": logging.ERROR, "levelname": "ERROR"}))

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


_ALL: weakref.WeakSet[AccessLog] = weakref.WeakSet()


@atexit.register
def _flush_all() -> None:
    for access in list(_ALL):
        access.flush()


def _plain(handler: logging.Handler) -> bool:
    formatter = handler.formatter
    return (type(handler) is logging.StreamHandler and type(formatter) is logging.Formatter
            and formatter._fmt == LOG_FORMAT and formatter.datefmt is None
            and formatter.default_time_format == "%Y-%m-%d %H:%M:%S"
            and formatter.converter is time.localtime and formatter.default_msec_format == "%s,%03d")


def _client(client: Any) -> str:
    """host:port of a scope's client (a pair), or -."""
    if not client:
        return "-"
    return _address(client if type(client) is tuple else tuple(client))


@functools.lru_cache(maxsize=1024)  # a connection's every request
def _address(client: tuple[str, int]) -> str:
    return f"{client[0]}:{client[1]}"


def _logged_path(scope: Mapping[str, Any]) -> str:
    return _escaped_path(scope.get("raw_path"), scope["path"])


def _escaped_path(raw_path: Any, path: str) -> str:
    """The path as the client sent it (still percent-encoded), control characters escaped."""
    return _escaped(raw_path.decode("latin-1") if isinstance(raw_path, bytes) else str(path))


@functools.lru_cache(maxsize=1024)  # the same few paths, over and over
def _escaped(path: str) -> str:
    return UNPRINTABLE.sub(lambda found: f"\\x{ord(found.group()):02x}" if ord(found.group()) < 256
                           else f"\\u{ord(found.group()):04x}", path)
