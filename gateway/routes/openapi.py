"""What OpenAPI (Swagger UI, ReDoc) says of the routes' bodies and error answers: every error
in the one shape with an example of its own per status, and the request bodies the routes
read raw (JSON, text, the multipart form, bytes)."""

from __future__ import annotations

from typing import Any

from blender_http_addon.protocol import IDEMPOTENCY_KEY_REUSED, JSON, MULTIPART, OCTET

from ..models import CODE_PATTERN, ErrorResponse

ERROR_TEXT = {
    400: "Malformed request", 401: "Missing or wrong API key", 404: "Not found",
    409: "Conflict (the job already finished)", 413: "Body too large",
    415: "Unsupported content type", 422: "The code raised or did not compile",
    501: "Not supported by this Blender", 502: "The backend died or could not be reached",
    503: "No healthy backend, or the backend's queue is full", 504: "The code ran past its timeout",
}


def _error(type: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"type": type, "message": message}}


# What Swagger UI shows for each error status: one example of its own per status.
ERROR_EXAMPLES: dict[int, dict[str, Any]] = {
    400: _error("BadRequest", "code: String should have at least 1 character"),
    401: _error("Unauthorized", "missing or wrong API key: send Authorization: Bearer <key>"),
    404: _error("NotFound", "no job 'aHR0cDovLzEyNy4wLjAuMTo3Nzc3.3f9c'"),
    409: _error("Conflict", "the job already finished"),
    413: _error("PayloadTooLarge", "the body is over the gateway's limit of 64 MiB"),
    415: _error("UnsupportedMediaType", "send JSON, or the code as text/plain"),
    422: {"ok": False, "result": None, "stdout": "", "stderr": "", "duration_ms": 0.2,
          "job": "aHR0cDovLzEyNy4wLjAuMTo3Nzc3.3f9c",
          "error": {"type": "NameError", "message": "name 'x' is not defined", "line": 1,
                    "traceback": "Traceback (most recent call last):\n  File \"<exec>\", line 1, "
                                 "in <module>\nNameError: name 'x' is not defined\n"}},
    501: _error("NotSupported", "this Blender has no usd exporter"),
    502: _error("BadGateway", "the backend http://127.0.0.1:7777 died while answering"),
    503: _error("Unavailable", "no healthy backend"),
    504: {"ok": False, "result": None, "stdout": "", "stderr": "", "duration_ms": 10000.4,
          "job": "aHR0cDovLzEyNy4wLjAuMTo3Nzc3.3f9c",
          "error": {"type": "Timeout", "message": "the code ran past its timeout of 10 s and was "
                                                  "interrupted", "line": 3, "traceback": None}},
}


# POST /exec's and /jobs' other 422: an Idempotency-Key sent again with another request.
KEY_REUSED_TEXT = "The Idempotency-Key was used for another request (nothing ran)"
KEY_REUSED_EXAMPLE = _error(IDEMPOTENCY_KEY_REUSED, "this Idempotency-Key was used for another "
                            "request (another method, path, code, args, session or timeout); "
                            "nothing ran. Send a new key for a new request")

# PUT /files/{path}'s 409: a file of the work folder stands where the path needs a folder.
FILE_IN_THE_WAY = _error("Conflict", "'renders' on the way to 'renders/a.png' is a file, not a folder")

# POST /exec's 409: its job was cancelled while it ran.
CANCELLED_EXAMPLE: dict[str, Any] = {
    "ok": False, "result": None, "stdout": "step 1\n", "stderr": "", "duration_ms": 812.5,
    "job": "aHR0cDovLzEyNy4wLjAuMTo3Nzc3.3f9c",
    "error": {"type": "Cancelled", "message": "the job was cancelled while running", "line": 4,
              "traceback": None}}


def errors(*codes: int, examples: dict[int, dict[str, Any]] | None = None,
           descriptions: dict[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for error answers, all in the one error shape, each status with its own
    example (examples= and descriptions= replace a status's for one route)."""
    examples = {**ERROR_EXAMPLES, **(examples or {})}
    descriptions = {**ERROR_TEXT, **(descriptions or {})}
    return {code: {"model": ErrorResponse, "description": descriptions.get(code, "Error"),
                   "content": {JSON: {"example": examples[code]}}}
            for code in (400, 401, 502, 503, *codes)}


def file_errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """errors() of a work-folder route: its 409 is a file standing where a folder must be."""
    return errors(409, *codes, examples={409: FILE_IN_THE_WAY},
                  descriptions={409: "A file stands where the path needs a folder"})


def json_body(model: Any, *, text: bool = False, required: bool = True) -> dict[str, Any]:
    """An OpenAPI requestBody for a body the route reads raw (forwarded as it came)."""
    schema = model.model_json_schema()
    examples = schema.get("examples", [])
    content: dict[str, Any] = {JSON: {
        "schema": schema, "examples": {f"example{i + 1}": {"value": e} for i, e in enumerate(examples)}}}
    if text:
        content["text/plain"] = {"schema": {"type": "string", "minLength": 1,
                                            "pattern": CODE_PATTERN},
                                 "example": "import bpy\nlen(bpy.data.objects)"}
        content[MULTIPART] = FORM
    return {"requestBody": {"required": required, "content": content}}


# The multipart form of POST /exec and /jobs (binary arguments) as Swagger UI can send it: the
# code as text and one file, bound as args["data"]. The API takes more than the schema says
# (a `request` part with the JSON body instead of `code`, any number of named parts): a
# schema listing parts by pattern would not render as a form.
FORM: dict[str, Any] = {
    "schema": {
        "type": "object",
        "description": "Binary arguments: every part but `code` (or `request`, the JSON body "
                       "as a part) is bound as args[<part name>]: an .npy file (or type "
                       "application/x-npy) as a numpy array, anything else as bytes. "
                       "`session` and `timeout` go in the query.",
        "required": ["code"],
        "additionalProperties": False,
        "properties": {
            "code": {"type": "string", "minLength": 1, "pattern": CODE_PATTERN,
                     "description": "The code; the file is args['data'].",
                     "example": "len(args['data'])"},
            "data": {"type": "string", "format": "binary",
                     "description": "A file bound as args['data'] (a numpy array if it is .npy)."},
        },
    },
    "encoding": {"code": {"contentType": "text/plain"}, "data": {"contentType": OCTET}},
}


def binary_body(description: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "description": description, "content": {
        OCTET: {"schema": {"type": "string", "format": "binary"}}}}}


def binary_answer(media: str | tuple[str, ...], description: str, **extra: Any) -> dict[str, Any]:
    kinds = (media,) if isinstance(media, str) else media
    return {"description": description,
            "content": {kind: {"schema": {"type": "string", "format": "binary"}} for kind in kinds},
            **extra}
