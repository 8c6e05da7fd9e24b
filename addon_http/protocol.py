"""The contract of the HTTP API that the add-on serves and the gateway repeats.

Limits, name patterns, error types and route names live here once; the add-on checks
requests with them and the gateway imports them for its OpenAPI models, so the two can
never disagree. Standard library only: this module is imported outside Blender too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

MIB = 1024 * 1024

# -- names and patterns ----------------------------------------------------------

# A session name: also a path segment in /sessions/{name}.
SESSION_NAME = r"[A-Za-z0-9_.\-]{1,64}"
SESSION_NAME_PATTERN = re.compile(SESSION_NAME)
SESSION_NAME_RULE = "1-64 characters of letters, digits, '_', '-', '.'"
# Code: at least one character that is not white space, and no NUL.
CODE = r"[^\x00]*\S[^\x00]*"
# A path in the work folder as clients write it, one segment after another, by the
# strictest rules of the platforms the server runs on (Windows'), on every platform, so a
# gateway in front of mixed workers answers alike and no name means something else on one of
# them: no '..', '.' or empty segments; no backslash, drive letter, ':' (alternate data
# streams), control characters or < > " | ? *; no reserved device names (CON, NUL, COM1.txt,
# ...); no segment ending in a dot or a space; at most 255 bytes of UTF-8 per segment.
# Spaces and other printable characters are allowed. file_path_problem() says what is wrong
# in words; FILE_PATH says the same as a regular expression, for OpenAPI.
MAX_FILE_NAME_BYTES = 255
MAX_FILE_PATH_CHARS = 1024
_FORBIDDEN_CHARS = '<>:"|?*\\'
_CONTROL = "".join(chr(c) for c in range(32))
_DEVICE_NAMES = frozenset({"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
                           *(f"{kind}{n}" for kind in ("COM", "LPT") for n in "0123456789¹²³")})


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in word)


_ALLOWED = r'[^\x00-\x1f<>:"/\\|?*]'
_LAST = r'[^\x00-\x1f<>:"/\\|?* .]'  # no trailing dot or space; so never '.' or '..'
_DEVICE = "(?:" + "|".join(_any_case(n) for n in sorted(_DEVICE_NAMES)) + r")"
_SEGMENT = rf"(?!{_DEVICE} *(?:\.[^/]*)?(?:/|$))(?=[^/]{{1,{MAX_FILE_NAME_BYTES}}}(?:/|$)){_ALLOWED}*{_LAST}"
# (The pattern counts a name's characters, the function its bytes of UTF-8.)
FILE_PATH = rf"^(?=.{{1,{MAX_FILE_PATH_CHARS}}}$){_SEGMENT}(?:/{_SEGMENT})*$"
FILE_PATH_RULE = ("a relative path inside the work folder, by Windows' rules on every platform: "
                  "no '..', '.' or empty segments; no backslash, ':', control characters or "
                  "< > \" | ? *; no device names (CON, NUL, COM1, ...); no segment ending in '.' "
                  f"or ' '; at most {MAX_FILE_NAME_BYTES} bytes per name")


def file_path_problem(path: str) -> str | None:
    """What is wrong with a work-folder path as a client wrote it, in words for a person, or
    None. The add-on and the gateway both check paths with this, so they accept the same
    names on every platform."""
    if not path:
        return "the file path is empty"
    if len(path) > MAX_FILE_PATH_CHARS:
        return f"a file path is at most {MAX_FILE_PATH_CHARS} characters"
    if "\x00" in path:
        return "a file path cannot contain a NUL byte"
    if "\\" in path:
        return "a file path uses '/' between folders, never a backslash"
    if path.startswith("/"):
        return "absolute paths are not allowed; give a path inside the files folder"
    if ":" in path:
        return ("a file path cannot contain ':' (a drive letter or an alternate data stream on "
                "Windows)")
    parts = path.split("/")
    if any(part in ("..", ".", "") for part in parts):
        return "'..', '.' and empty segments (as in 'a//b' or 'a/') are not allowed in file paths"
    for part in parts:
        problem = _name_problem(part)
        if problem is not None:
            return problem
    return None


def _name_problem(name: str) -> str | None:
    bad = sorted({c for c in name if c in _CONTROL or c in _FORBIDDEN_CHARS})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        return f"a file name cannot contain {shown} (control characters and < > \" | ? * are not allowed)"
    if name[-1] in ". ":
        return f"a file name cannot end with a dot or a space ({name!r}): Windows would drop it"
    if name.split(".")[0].rstrip(" ").upper() in _DEVICE_NAMES:
        return f"{name!r} is a device name on Windows (CON, PRN, AUX, NUL, COM1-9, LPT1-9)"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_FILE_NAME_BYTES:
        return f"a file name is at most {MAX_FILE_NAME_BYTES} bytes of UTF-8"
    return None

# -- limits ----------------------------------------------------------------------

# The longest a job may be given to run: beyond it a timeout is a mistake, not a wish,
# and float seconds that large overflow the clocks they are added to.
MAX_TIMEOUT_S = 7 * 24 * 3600.0
MAX_LONG_POLL_S = 300.0
MAX_SCENE_PAGE = 1000
# GET /files answers a page of the work folder at a time: this many files unless ?limit=
# says fewer or more, up to the most; `next` continues it (each page's walk is bounded too:
# files/paged.py).
FILES_PAGE = 1000
MAX_FILES_PAGE = 10_000
MAX_RENDER_SIZE = 16384
MAX_RENDER_SAMPLES = 1 << 16
# POST /exec and /jobs: a repeated key answers with its first job instead of running again.
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_IDEMPOTENCY_KEY = 255
# The body of a multipart/form-data POST /exec or /jobs (binary arguments, SPEC 3.7);
# BLENDER_HTTP_MAX_MULTIPART_BYTES changes it.
MAX_MULTIPART_BYTES = 1024 * MIB
# Blocks in which bodies and files are streamed.
CHUNK = 256 * 1024

# -- media types -----------------------------------------------------------------

OCTET = "application/octet-stream"
JSON = "application/json"
NPY = "application/x-npy"
MULTIPART = "multipart/form-data"
EVENT_STREAM = "text/event-stream"

# -- error types -----------------------------------------------------------------

# The "type" each caller-side status carries, so clients can branch without parsing text.
STATUS_TYPES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    408: "RequestTimeout",
    409: "Conflict",
    411: "LengthRequired",
    413: "PayloadTooLarge",
    414: "URITooLong",
    415: "UnsupportedMediaType",
    417: "ExpectationFailed",
    422: "ExecError",
    429: "TooManyRequests",
    431: "HeadersTooLarge",
    500: "InternalError",
    501: "NotImplemented",
    502: "BadGateway",
    503: "Unavailable",
    504: "Timeout",
    505: "HTTPVersionNotSupported",
    507: "InsufficientStorage",
}
# 422 for an Idempotency-Key sent again with another request (method, path, code, args,
# session or timeout): the key names the first request, which is not this one.
IDEMPOTENCY_KEY_REUSED = "IdempotencyKeyReused"

# -- routes ----------------------------------------------------------------------

# Every route of the API as (method, template); the add-on's route table and the
# gateway's metrics labels use these names.
HEALTH = "/health"
EXEC = "/exec"
JOBS = "/jobs"
JOB = "/jobs/{id}"
JOB_EVENTS = "/jobs/{id}/events"
SESSIONS = "/sessions"
SESSION = "/sessions/{name}"
FILES = "/files"
FILE = "/files/{path:path}"
SHUTDOWN = "/shutdown"
SCENE = "/scene"
OBJECT = "/objects/{name}"
VERTICES = "/objects/{name}/vertices"
RENDER = "/render"
SCREENSHOT = "/screenshot"
EXPORT = "/export"
IMPORT = "/import"
MCP = "/mcp"
# The headers of an MCP request over HTTP in protocol 2026-07-28 (a proxy routes and filters
# on them): a tools/call names itself in Mcp-Method, and its client cancels it by closing the
# connection.
MCP_VERSION_HEADER, MCP_METHOD_HEADER, MCP_NAME_HEADER = "MCP-Protocol-Version", "Mcp-Method", "Mcp-Name"
MCP_TOOL_CALL = "tools/call"


def mcp_call_followed(headers: Mapping[str, str]) -> bool:
    """Whether a POST /mcp with these headers (names in any case) is answered by a thread
    that follows the call while Blender's main thread runs it: its client takes an event
    stream (progress may come), or it is a 2026-07-28 tool call (cancelled by a hang-up)."""
    return EVENT_STREAM in (headers.get("Accept") or "") or headers.get(MCP_METHOD_HEADER) == MCP_TOOL_CALL
