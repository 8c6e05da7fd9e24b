"""The access log's own writer gives the very line the logging module would, only where
logging is as the gateway configures it; any other configuration gets records."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from blender_http_gateway.edge.access import FLUSH_AFTER_S, AccessLog, access_log
from blender_http_gateway.settings import LOG_FORMAT

SCOPE = {"client": ("127.0.0.1", 40000), "method": "POST", "raw_path": b"/exec\x1b[31m",
         "path": "/exec", "state": {"backend": "http://127.0.0.1:7777", "request_id": "r-1"}}
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")


@pytest.fixture
def root_only() -> Iterator[io.StringIO]:
    """Where the lines go (see alone())."""
    yield io.StringIO()


@contextlib.contextmanager
def alone(stream: io.StringIO) -> Iterator[logging.Handler]:
    """The root logger as GatewaySettings.configure_logging leaves it (one stream handler, the
    gateway's format, INFO), writing to stream; pytest's own capture is put back after."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def test_the_writer_writes_the_line_the_logging_module_would(root_only: io.StringIO) -> None:
    writer = AccessLog()
    with alone(root_only) as handler:
        writer.write(SCOPE, 200, 0.00123)
        assert writer._plain is handler  # it took the direct way
        access_log.info("%s", "probe")  # the logging module's line, for its stamp and layout
    ours, theirs = root_only.getvalue().splitlines()
    assert STAMP.match(ours) and STAMP.match(theirs)
    assert STAMP.sub("", ours) == ("INFO blender_http_gateway.access: 127.0.0.1:40000 POST "
                                   "/exec\\x1b[31m 200 1.2ms backend=http://127.0.0.1:7777 id=r-1")
    assert STAMP.sub("", theirs) == "INFO blender_http_gateway.access: probe"
    assert abs(_millis(ours) - _millis(theirs)) < 1000


def test_another_configuration_gets_records(root_only: io.StringIO) -> None:
    writer = AccessLog()
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    with alone(root_only) as handler:
        logging.getLogger().addHandler(Keep())  # as a test's capture or an operator's handler
        writer.write(SCOPE, 404, 0.5)
        assert [r.getMessage() for r in records] == [
            "127.0.0.1:40000 POST /exec\\x1b[31m 404 500.0ms backend=http://127.0.0.1:7777 id=r-1"]
        assert STAMP.sub("", root_only.getvalue()).startswith("INFO blender_http_gateway.access: ")
    with alone(root_only) as handler:
        handler.setFormatter(logging.Formatter("%(message)s"))
        writer.write(SCOPE, 200, 0.001)
    assert root_only.getvalue().splitlines()[-1].startswith("127.0.0.1:40000 POST")
    assert writer._plain is None


def test_lines_written_on_a_loop_wait_together_at_most_a_moment(root_only: io.StringIO) -> None:
    writer = AccessLog()

    async def requests() -> tuple[str, str]:
        for n in range(3):
            writer.write({**SCOPE, "state": {"request_id": f"r-{n}"}}, 200, 0.001)
        before = root_only.getvalue()
        await asyncio.sleep(FLUSH_AFTER_S * 2)
        return before, root_only.getvalue()

    with alone(root_only):
        before, after = asyncio.run(requests())
        assert before == ""
        assert [line.rsplit(" ", 1)[1] for line in after.splitlines()] == ["id=r-0", "id=r-1", "id=r-2"]
        writer.write(SCOPE, 200, 0.001)  # outside a loop: at once
        assert root_only.getvalue().endswith("id=r-1\n")


def test_waiting_lines_are_written_by_flush_and_before_a_record(root_only: io.StringIO) -> None:
    writer = AccessLog()

    async def request_then_stop() -> str:
        writer.write({**SCOPE, "state": {"request_id": "r-a"}}, 200, 0.001)
        writer.flush()  # as the app does when it stops
        return root_only.getvalue()

    with alone(root_only):
        assert asyncio.run(request_then_stop()).endswith("id=r-a\n")

    async def request_then_capture() -> None:
        writer.write({**SCOPE, "state": {"request_id": "r-b"}}, 200, 0.001)
        logging.getLogger().addHandler(logging.NullHandler())  # now records, one by one
        writer.write({**SCOPE, "state": {"request_id": "r-c"}}, 200, 0.001)

    with alone(root_only):
        asyncio.run(request_then_capture())
        assert [line.rsplit(" ", 1)[1] for line in root_only.getvalue().splitlines()[-2:]] == [
            "id=r-b", "id=r-c"]


def test_nothing_is_written_below_info(root_only: io.StringIO) -> None:
    access_log.setLevel(logging.WARNING)
    try:
        with alone(root_only):
            AccessLog().write(SCOPE, 200, 0.001)
    finally:
        access_log.setLevel(logging.NOTSET)
    assert root_only.getvalue() == ""


def _millis(line: str) -> int:
    stamp = STAMP.match(line)
    assert stamp
    clock, millis = stamp.group().strip().split(",")
    hours, minutes, seconds = clock.split()[1].split(":")
    return ((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(millis)


def test_lines_still_waiting_are_written_when_the_interpreter_exits() -> None:
    script = (
        "import asyncio, logging\n"
        "from blender_http_gateway.edge.access import AccessLog\n"
        "from blender_http_gateway.settings import LOG_FORMAT\n"
        "logging.basicConfig(level='INFO', format=LOG_FORMAT)\n"
        "writer = AccessLog()\n"
        "async def answer():\n"
        "    writer.write({'client': ('127.0.0.1', 1), 'method': 'POST', 'path': '/exec',\n"
        "                  'state': {'request_id': 'at-exit'}}, 200, 0.001)\n"
        "asyncio.run(answer())  # the loop ends before the lines' moment\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().endswith("POST /exec 200 1.0ms backend=- id=at-exit"), done.stderr
