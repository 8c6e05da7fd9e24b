"""The contract of the HTTP API that the add-on serves and the gateway repeats.

Limits, name patterns, error types and route names live here once; the add-on checks
requests with them and the gateway imports them for its OpenAPI models, so the two can
never disagree. Standard library only: this module is imported outside Blender too.
"""

from __future__ import annotations

import re

MIB = 1024 * 1024

# -- names and patterns ----------------------------------------------------------

# A session name: also a path segment in /sessions/{name}.
SESSION_NAME = r"[A-Za-z0-9_.\-]{1,64}"
SESSION_NAME_PATTERN = re.compile(SESSION_NAME)
SESSION_NAME_RULE = "1-64 characters of letters, digits, '_', '-', '.'"
# Code: at least one character that is not white space, and no NUL.
CODE = r"[^\x00]*\S[^\x00]*"
# A path in the work folder as clients write it, one segment after another. Spaces and
# other printable characters are allowed; '..', '.', empty segments, backslashes and
# NUL bytes are not (files.WorkFolder.resolve says why in its messages).
# The same rule as a regular expression, for OpenAPI (file_path_problem() checks it in words):
# segments that are not '.' or '..', without '/', backslash or NUL.
_SEGMENT = r"(?:[^/\\\x00.][^/\\\x00]*|\.[^/\\\x00.][^/\\\x00]*|\.\.[^/\\\x00]+)"
FILE_PATH = rf"^{_SEGMENT}(?:/{_SEGMENT})*$"
FILE_PATH_RULE = ("a relative path inside the work folder: no '..', '.' or empty segments, "
                  "no backslash, no NUL")


def file_path_problem(path: str) -> str | None:
    """What is wrong with a work-folder path as a client wrote it, in words for a person, or
    None. The add-on and the gateway both check paths with this, so they accept the same
    names (spaces and other printable characters included)."""
    if not path:
        return "the file path is empty"
    if "\x00" in path:
        return "a file path cannot contain a NUL byte"
    if "\\" in path:
        return "a file path uses '/' between folders, never a backslash"
    if path.startswith("/"):
        return "absolute paths are not allowed; give a path inside the files folder"
    parts = path.split("/")
    if any(part in ("..", ".", "") for part in parts):
        return "'..', '.' and empty segments (as in 'a//b' or 'a/') are not allowed in file paths"
    return None

# -- limits ----------------------------------------------------------------------

# The longest a job may be given to run: beyond it a timeout is a mistake, not a wish,
# and float seconds that large overflow the clocks they are added to.
MAX_TIMEOUT_S = 7 * 24 * 3600.0
MAX_LONG_POLL_S = 300.0
MAX_SCENE_PAGE = 1000
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
