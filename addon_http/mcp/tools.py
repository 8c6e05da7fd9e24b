"""The tool set, defined once: names, titles, descriptions for a model, input schemas and
annotations. Pure data, standard library only: the stdio server (`blender-http mcp`) and
the gateway import it without Blender, so every way in offers the same tools."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..protocol import MAX_LONG_POLL_S, MAX_RENDER_SIZE, MAX_SCENE_PAGE, SESSION_NAME
from ..scene.directions import VIEWS
from . import output_schemas

SERVER_NAME = "blender-http"
# Image content is shrunk until its PNG fits this many bytes, so one picture never floods
# a model's context.
MAX_IMAGE_BYTES = 1024 * 1024
DEFAULT_IMAGE_SIZE = 1024
MAX_IMAGE_SIZE = 4096
# search_api's query: each word costs a pass over the API on Blender's main thread.
MAX_QUERY_CHARS = 1024
MAX_QUERY_WORDS = 64
# describe_api's name.
MAX_API_NAME_CHARS = 256
# get_scene's page of objects by default: about 350 characters each, so it fits the budget
# (and a page is cut short where it would not).
SCENE_PAGE = 50
# The budget of a tool result: characters of text content (images have their own cap,
# MAX_IMAGE_BYTES). Past it the text is cut (mcp/budget.py) and the whole kept in a file of
# RESULTS_FOLDER in the work folder, which read_file pages. `max_chars` changes it per call.
DEFAULT_MAX_CHARS = 20_000
MIN_MAX_CHARS = 1_000
MAX_MAX_CHARS = 1_000_000
RESULTS_FOLDER = "mcp-results"
# exec_python (and submit_job) without full=true answer an array of more elements, or a
# list of more items, as a summary (shape, dtype, min/max, first rows; summary.py).
SUMMARY_ITEMS = 500
# A tool's description is read by the model on every turn: it stays under this many bytes.
MAX_DESCRIPTION_BYTES = 2048
# Left out by read-only mode (BLENDER_HTTP_MCP_READ_ONLY, `blender-http mcp --read-only`): the
# tools that run code or change the scene. A name not defined (yet) is left out when it comes.
READ_ONLY_LEFT_OUT = ("exec_python", "write_file", "import_file", "submit_job", "restore_checkpoint")
# A request to /mcp carrying this header with READ_ONLY_VALUE is served the read-only tool set,
# whatever the server's own settings: the gateway marks the requests of its read-only API keys
# so. It only narrows, so whoever may call /mcp at all may send it (docs/SECURITY.md).
READ_ONLY_HEADER = "Blender-Http-Read-Only"
READ_ONLY_VALUE = "1"
SERVER_READ_ONLY = "this server is read-only (BLENDER_HTTP_MCP_READ_ONLY, --read-only)"
CALLER_READ_ONLY = f"this caller is read-only (a read-only API key of the gateway, {READ_ONLY_HEADER})"

# list_files' page of files by default (about 90 characters each: it fits the budget) and at
# most; each page also looks at no more than files/paged.MAX_ENTRIES names (the call runs on
# Blender's main thread in module and background mode).
FILES_PAGE = 200
MAX_FILES_PAGE = 2000
# inspect's page of objects by default: each takes 400-700 characters (a page is cut short
# where more would not fit the budget, as get_scene's).
INSPECT_PAGE = 25
INSTRUCTIONS = """Tools for a live Blender. exec_python runs Python inside Blender on its main
thread: bpy, C (bpy.context), D (bpy.data) and args are bound; the value of the last expression is
the result. Pass values in `args`, never format them into the code. Give a `session` name to keep
variables between calls. Look up the API of the Blender in use with search_api / describe_api
before guessing names (they changed between 3.x, 4.x and 5.x). See your work with screenshot (the
viewport; views for several sides on one image) or render, check it with inspect, and checkpoint
before a risky change (restore_checkpoint goes back). Long work: submit_job, then
get_job(wait=...) or cancel_job. Files move through the work folder: write_file / import_file in,
export_scene / read_file out. In a Blender with a window, each call that changes the scene is one
undo step named "HTTP: ...", so the user can undo it with Ctrl-Z. A tool answers at most max_chars
characters of text (default 20000); past that it is cut, with a marker naming a work-folder file
that holds the whole, which read_file pages (offset, limit)."""

# JSON Schema's form of the session names exec sessions take (protocol.SESSION_NAME).
SESSION_PATTERN = f"^{SESSION_NAME}$"
_SESSION = {"type": "string", "pattern": SESSION_PATTERN,
            "description": "A session: open_session's handle (or a name of your own). exec_python keeps "
                           "its variables in it between calls (a new one starts empty); through a "
                           "gateway every call that carries it reaches the same Blender. Omit for a "
                           "fresh namespace each call."}
# Every other tool takes the session too: it only routes the call (gateway/routes/mcp.py),
# so its schema is short (tools/list is read on every turn).
_HANDLE = {"type": "string", "description": "Handle from open_session (keeps the call on that session's "
                                            "Blender)."}
_TIMEOUT = {"type": "number", "exclusiveMinimum": 0,
            "description": "Seconds before the code is interrupted (default: the server's)."}
_WORK_TIMEOUT = {"type": "number", "exclusiveMinimum": 0,
                 "description": "Seconds this call may keep Blender busy (default: no limit). Python "
                                "work stops there; a Cycles render stops sampling there and answers "
                                "what it has; an export or import is one Blender call that ends when "
                                "done, and the answer is then a timeout error."}
_MAX_SIZE = {"type": "integer", "minimum": 16, "maximum": MAX_IMAGE_SIZE,
             "default": DEFAULT_IMAGE_SIZE,
             "description": "Longest side of the returned image in pixels."}
_MAX_CHARS = {"type": "integer", "minimum": MIN_MAX_CHARS, "maximum": MAX_MAX_CHARS,
              "default": DEFAULT_MAX_CHARS,
              "description": "Most characters of text to answer. Past it the answer is cut, with a "
                             "marker naming a work-folder file that holds the whole (page it with "
                             "read_file)."}
_FULL = {"type": "boolean", "default": False,
         "description": f"Answer large arrays and lists whole. Default: an array of more than "
                        f"{SUMMARY_ITEMS} elements or a list of more than {SUMMARY_ITEMS} items comes "
                        f"back summarised (shape, dtype, min/max, first rows; a list's length and "
                        f"first items)."}
_CHECKPOINT_NAME = {"type": "string", "pattern": f"^(?!\\.){SESSION_NAME}$",
                    "description": "The checkpoint's name: letters, digits, '_', '-', '.' (not "
                                   "first)."}
_PATH = {"type": "string", "description": "A relative path inside the work folder, e.g. "
                                          "'models/chair.glb' (no '..')."}


def _schema(properties: dict[str, Any] | None = None, required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties or {},
                              "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return schema


def _hints(*, read_only: bool, destructive: bool = False, idempotent: bool = False,
           title: str) -> dict[str, Any]:
    return {"title": title, "readOnlyHint": read_only, "destructiveHint": destructive,
            "idempotentHint": idempotent, "openWorldHint": False}


def _tool(name: str, title: str, description: str, schema: dict[str, Any], *,
          output: dict[str, Any] | None = None, **hints: bool) -> dict[str, Any]:
    """A tool's definition; one with an output schema answers structuredContent too."""
    schema["properties"] = {"session": _HANDLE, **schema["properties"], "max_chars": _MAX_CHARS}
    tool = {"name": name, "title": title, "description": description, "inputSchema": schema,
            "annotations": _hints(title=title, **hints)}
    if output is not None:
        tool["outputSchema"] = output
    return tool


_CODE_PROPERTIES = {
    "code": {"type": "string", "description": "Python source. bpy, C = bpy.context, D = bpy.data "
                                              "and args are bound; the last expression is the result."},
    "args": {"type": "object", "description": "JSON values the code reads as args['name']."},
    "session": _SESSION,
    "timeout": _TIMEOUT,
    "full": _FULL,
}

TOOLS: tuple[dict[str, Any], ...] = (
    _tool("exec_python", "Run Python in Blender",
          "Run Python inside the live Blender and return the result (the value of the last "
          "expression, as JSON), stdout and stderr. bpy, C (bpy.context), D (bpy.data) and args are "
          "bound. Pass inputs in `args` instead of formatting them into the code. On an exception "
          "the call fails with its type, message, line and traceback; changes made before it stay.",
          _schema(_CODE_PROPERTIES, ("code",)), read_only=False, destructive=True),
    _tool("open_session", "Open a session",
          "A new session handle. Pass it as `session` to every later call: exec_python keeps its "
          "variables in it, and through a gateway with many Blenders every call that carries it "
          "reaches the same one, so you see your own changes. Open one first when you will make "
          "changes over several calls.",
          _schema(), read_only=True),
    _tool("blender_info", "Blender version and state",
          "Blender version, how it runs (gui, background, module), the current mode, the open "
          "file and whether it has unsaved changes, render engines and render settings.",
          _schema(), output=output_schemas.BLENDER_INFO, read_only=True, idempotent=True),
    _tool("get_scene", "List the scene",
          "The scene's frame range, render settings, camera and one page of its objects (name, type, "
          "transform, parent, collections, materials), sorted by name. A page holds `limit` objects, "
          "fewer when more would pass max_chars; `total` counts them all and `next_offset` is where "
          "the next page starts (null on the last). Filter by type.",
          _schema({"limit": {"type": "integer", "minimum": 1, "maximum": MAX_SCENE_PAGE,
                             "default": SCENE_PAGE, "description": "Most objects per page."},
                   "offset": {"type": "integer", "minimum": 0, "default": 0,
                              "description": "Objects to skip."},
                   "type": {"type": "string", "description": "Only objects of this type, e.g. MESH, "
                                                             "CAMERA, LIGHT."}}),
          output=output_schemas.GET_SCENE, read_only=True, idempotent=True),
    _tool("get_object", "Describe one object",
          "One object in detail: transform, parent and children, modifiers, materials, mesh counts "
          "and custom properties. An unknown name answers the closest names.",
          _schema({"name": {"type": "string", "description": "The object's name."}}, ("name",)),
          output=output_schemas.GET_OBJECT, read_only=True, idempotent=True),
    _tool("get_context", "What the user is looking at",
          "The current mode (OBJECT, EDIT_MESH, ...), active object, selected objects, active "
          "camera, current frame and scene: what `C` refers to in exec_python.",
          _schema(), output=output_schemas.GET_CONTEXT, read_only=True, idempotent=True),
    _tool("screenshot", "Screenshot of the viewport",
          "A PNG of the 3D viewport as the user sees it (in a Blender with a window); elsewhere a "
          "quick Workbench render from the active camera. Use it to check your work. `views` "
          "(any mode): one contact sheet of the scene from several sides, e.g. [\"front\", "
          "\"right\", \"top\", \"camera\"], each labelled. `area` (with a window only): one "
          "editor (OUTLINER, NODE_EDITOR, PROPERTIES, ...; one not on screen is shown for the "
          "picture) or WINDOW for the whole window.",
          _schema({"max_size": _MAX_SIZE,
                   "views": {"type": "array", "minItems": 1, "uniqueItems": True,
                             "items": {"type": "string", "enum": list(VIEWS)},
                             "description": "Sides to show on one contact sheet (camera: the "
                                            "scene's camera)."},
                   "area": {"type": "string", "description": "An editor type, e.g. NODE_EDITOR, "
                                                             "or WINDOW (GUI only)."},
                   "timeout": _WORK_TIMEOUT}),
          read_only=True, idempotent=True),
    _tool("render", "Render the scene",
          "Render the scene with its camera and return the image (scaled to max_size). The full "
          "PNG stays in the work folder at the returned path (read_file fetches it). Unset options "
          "keep the scene's settings.",
          _schema({"engine": {"type": "string", "description": "e.g. BLENDER_EEVEE, CYCLES, "
                                                               "BLENDER_WORKBENCH."},
                   "width": {"type": "integer", "minimum": 1, "maximum": MAX_RENDER_SIZE,
                             "description": "Render width in pixels."},
                   "height": {"type": "integer", "minimum": 1, "maximum": MAX_RENDER_SIZE,
                              "description": "Render height in pixels."},
                   "samples": {"type": "integer", "minimum": 1, "description": "Render samples."},
                   "camera": {"type": "string", "description": "Camera object to render from."},
                   "frame": {"type": "integer", "description": "Frame to render."},
                   "max_size": _MAX_SIZE, "timeout": _WORK_TIMEOUT}),
          read_only=False, idempotent=True),
    _tool("export_scene", "Export to a file",
          "Export the scene (or some objects) to a file in the work folder: glb, gltf, obj, fbx, "
          "stl or usd. Fetch it with read_file.",
          _schema({"format": {"type": "string", "enum": ["glb", "gltf", "obj", "fbx", "stl", "usd"],
                              "description": "File format."},
                   "objects": {"type": "array", "items": {"type": "string"},
                               "description": "Object names to export (default: all)."},
                   "path": {**_PATH, "description": "Where to write it in the work folder (default "
                                                    "exports/scene.<format>)."},
                   "timeout": _WORK_TIMEOUT}, ("format",)),
          read_only=False, idempotent=True),
    _tool("import_file", "Import a file",
          "Import a model file from the work folder (upload it first with write_file): glb, gltf, "
          "obj, fbx, stl or usd. Answers the names of the new objects.",
          _schema({"path": _PATH, "format": {"type": "string", "description": "File format (default: "
                                                                              "from the extension)."},
                   "timeout": _WORK_TIMEOUT}, ("path",)),
          read_only=False),
    _tool("list_files", "List the work folder",
          "The files of the work folder (the folder Blender and you share) with sizes, folder by "
          "folder in name order, a page at a time: pass a page's `next` as `after` for the next "
          "one (`next` is null after the last).",
          _schema({"after": {"type": "string",
                             "description": "Continue after this path: the `next` of the page before."},
                   "limit": {"type": "integer", "minimum": 1, "maximum": MAX_FILES_PAGE,
                             "default": FILES_PAGE, "description": "Most files in the page."}}),
          read_only=True, idempotent=True),
    _tool("read_file", "Read a file",
          "A file from the work folder, one page at a time: `limit` bytes from byte `offset`, fewer "
          "when more would pass max_chars (never splitting a UTF-8 character). Text as is, binary "
          "as base64 (`encoding` says which). `size` is the file's bytes; `next_offset` is where "
          "the next page starts (null at the end).",
          _schema({"path": _PATH,
                   "offset": {"type": "integer", "minimum": 0, "default": 0,
                              "description": "Byte to start at: 0, or a page's next_offset."},
                   "limit": {"type": "integer", "minimum": 1, "maximum": MAX_MAX_CHARS,
                             "description": "Most bytes to read (default: as many as fit max_chars)."}},
                  ("path",)),
          read_only=True, idempotent=True),
    _tool("write_file", "Write a file",
          "Store a file in the work folder (replacing one of the same path); binary content as "
          "base64. Then import_file or use it from exec_python, where WORKDIR is the work folder's "
          "path: os.path.join(WORKDIR, path).",
          _schema({"path": _PATH, "content": {"type": "string", "description": "The file's content."},
                   "encoding": {"type": "string", "enum": ["utf-8", "base64"], "default": "utf-8",
                                "description": "How content is encoded."}}, ("path", "content")),
          read_only=False, destructive=True, idempotent=True),
    _tool("submit_job", "Start long-running code",
          "Queue Python like exec_python but answer at once with a job id; follow it with get_job, "
          "stop it with cancel_job. For work that takes longer than a call should wait.",
          _schema(_CODE_PROPERTIES, ("code",)), read_only=False, destructive=True),
    _tool("get_job", "Job status",
          "A job's status (queued, running, succeeded, failed, cancelled, timed_out), output and, "
          "once finished, its result or error. wait = seconds to wait for it to finish.",
          _schema({"job_id": {"type": "string", "description": "The id submit_job answered."},
                   "wait": {"type": "number", "minimum": 0, "maximum": MAX_LONG_POLL_S, "default": 0,
                            "description": "Seconds to wait for the job to finish."}}, ("job_id",)),
          output=output_schemas.GET_JOB, read_only=True, idempotent=True),
    _tool("cancel_job", "Cancel a job",
          "Drop a queued job or interrupt a running one.",
          _schema({"job_id": {"type": "string", "description": "The job's id."}}, ("job_id",)),
          read_only=False, idempotent=True),
    _tool("search_api", "Search Blender's Python API",
          "Search this Blender's own API (bpy.types classes and their properties, bpy.ops "
          "operators) by words, e.g. 'subdivision modifier' or 'bevel'. Answers the best matches "
          "with descriptions; always matches the running version.",
          _schema({"query": {"type": "string", "maxLength": MAX_QUERY_CHARS,
                             "description": f"Words to look for (at most {MAX_QUERY_WORDS})."},
                   "limit": {"type": "integer", "minimum": 1, "maximum": 50, "default": 10,
                             "description": "Most results to answer."}}, ("query",)),
          read_only=True, idempotent=True),
    _tool("describe_api", "Describe an API entry",
          "Everything about one API name of this Blender: a type (bpy.types.SubsurfModifier) with "
          "its properties, types, defaults and enum items; a property (SubsurfModifier.levels); or "
          "an operator (bpy.ops.mesh.primitive_cube_add) with its parameters and defaults.",
          _schema({"name": {"type": "string", "description": "e.g. bpy.types.Object, "
                                                             "Object.location, bpy.ops.object.select_all."}},
                  ("name",)),
          read_only=True, idempotent=True),
    _tool("inspect", "Check the scene for problems",
          "Check your work: per object the counts after modifiers (vertices, polygons, "
          "triangles), the world bounding box, non-manifold edges (holes: not watertight), "
          "zero-area faces and unapplied scale, with an `issues` list in words; for the scene, "
          "files it uses that are missing and linked libraries. One page of objects sorted by "
          "name, like get_scene (`objects` names some, `type` filters).",
          _schema({"objects": {"type": "array", "items": {"type": "string"},
                               "description": "Object names to check (default: all in the scene)."},
                   "type": {"type": "string", "description": "Only objects of this type, e.g. MESH."},
                   "limit": {"type": "integer", "minimum": 1, "maximum": MAX_SCENE_PAGE,
                             "default": INSPECT_PAGE, "description": "Most objects per page."},
                   "offset": {"type": "integer", "minimum": 0, "default": 0,
                              "description": "Objects to skip."}}),
          output=output_schemas.INSPECT, read_only=True, idempotent=True),
    _tool("checkpoint", "Save a checkpoint",
          "Save the whole scene as a .blend in the work folder under a name (default: the time), "
          "before a risky change; restore_checkpoint goes back to it. Blender's open file stays "
          "as it is. Answers the name and the checkpoints there are.",
          _schema({"name": _CHECKPOINT_NAME}), read_only=False),
    _tool("restore_checkpoint", "Go back to a checkpoint",
          "Open a checkpoint saved by checkpoint: the scene is exactly as it was then, and the "
          "changes since are gone (Blender's open file is then the checkpoint). Variables of "
          "exec_python sessions that pointed into the old scene are stale.",
          _schema({"name": _CHECKPOINT_NAME}, ("name",)), read_only=False, destructive=True),
)

NAMES = tuple(tool["name"] for tool in TOOLS)
BY_NAME = {tool["name"]: tool for tool in TOOLS}


def unknown(names: tuple[str, ...]) -> list[str]:
    """The names in names that are no tool's."""
    return sorted(set(names) - set(NAMES))


def choose(read_only: bool, only: tuple[str, ...], exclude: tuple[str, ...], *,
           settings: tuple[str, str] = ("BLENDER_HTTP_MCP_TOOLS", "BLENDER_HTTP_MCP_EXCLUDE_TOOLS")
           ) -> Selection:
    """The Selection of these settings; ValueError naming the setting (of `settings`, the
    names of only's and exclude's) that holds a name that is no tool's."""
    for setting, names in zip(settings, (only, exclude), strict=True):
        wrong = unknown(names)
        if wrong:
            raise ValueError(f"{setting}: no MCP tool is named {', '.join(wrong)}; the tools are "
                             f"{', '.join(NAMES)}")
    return Selection(read_only=read_only, only=only, exclude=exclude)


@dataclasses.dataclass(frozen=True)
class Selection:
    """The tools a server offers: all of them, less READ_ONLY_LEFT_OUT when read_only, only
    those of `only` when it names any, never those of `exclude`. Settings:
    BLENDER_HTTP_MCP_READ_ONLY / _TOOLS / _EXCLUDE_TOOLS, or `blender-http mcp --read-only
    --tools --exclude-tools`."""

    read_only: bool = False
    only: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    # Who made it read-only, as a refusal says it.
    read_only_by: str = SERVER_READ_ONLY

    def __post_init__(self) -> None:
        wrong = unknown(self.only + self.exclude)
        if wrong:
            raise ValueError(f"no MCP tool is named {', '.join(wrong)}; the tools are {', '.join(NAMES)}")

    @property
    def tools(self) -> tuple[dict[str, Any], ...]:
        return tuple(tool for tool in TOOLS if self.refusal(tool["name"]) is None)

    def refusal(self, name: str) -> str | None:
        """Why the tool is not offered, or None when it is."""
        if self.read_only and name in READ_ONLY_LEFT_OUT:
            return (f"{name} is not offered: {self.read_only_by}, which leaves out "
                    f"{', '.join(READ_ONLY_LEFT_OUT)}")
        if self.only and name not in self.only:
            return (f"{name} is not offered: this server offers only {', '.join(self.only)} "
                    "(BLENDER_HTTP_MCP_TOOLS, --tools)")
        if name in self.exclude:
            return (f"{name} is not offered: this server leaves it out (BLENDER_HTTP_MCP_EXCLUDE_TOOLS, "
                    "--exclude-tools)")
        return None
