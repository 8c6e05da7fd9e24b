"""Every code block of README.md and docs/*.md runs as written, against a real module-mode
server (`blender-http serve` on a free port), and shows what it prints.

A page's blocks run in order, in one folder and one environment (what a shell block
exports is seen by the next), after the scene is reset to Blender's factory scene. Shell
blocks run with `bash -euo pipefail`, `console` blocks command by command (each `$` line,
its output compared with the lines under it), Python blocks with the venv's Python,
`ipython` blocks as the cells of one notebook in a real kernel; the venv's bin is first on
PATH. The substitutions, the only edits a block gets (docs/README.md lists them too):

- `localhost:7777` / `127.0.0.1:7777` name the test's server; `BLENDER_HTTP_URL` is set to it;
- `localhost:8000` / `127.0.0.1:8000` (the gateway's default) name a free port, and
  `BLENDER_HTTP_GATEWAY_PORT` is set to it;
- the input files blocks name without making them (FILES, and `scene.blend`) are in the folder.

Output shown in a block is checked: a comment line `# {...}` in a shell block is the start
of an answer the block prints (`...` any text, `<id>` any value), a trailing comment after a
Python expression its value (when it reads as a Python literal), after a `print(...)` the
line printed. Processes a block leaves running (a gateway started with `&`) are stopped
with their process group once the page is done.

A block that cannot run here carries `<!-- not run here: why; where it is tested -->` just
above its fence; every other block must run and exit 0.
"""

from __future__ import annotations

import ast
import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
import tokenize
from collections.abc import Iterator
from pathlib import Path

import nbclient
import nbformat
import pytest

from tests.blender import servers
from tests.conftest import missing
from tests.docs import markdown
from tests.docs.markdown import Block

pytestmark = pytest.mark.timeout(300)

RUN = {"sh", "bash", "console", "python", "ipython"}
# Names a runnable block must not hide behind (they would escape this test).
ALIASES = {"shell", "zsh", "py", "python3", "pycon", "ipython3", "jupyter"}
BLOCK_TIMEOUT = 180.0

# The input files blocks name but do not make (scene.blend is saved by the server).
FILES = {
    "script.py": ('import bpy\nprint("objects:", len(bpy.data.objects))\n'
                  'sorted(o.name for o in bpy.data.objects)\n'),
    "render.py": ('import bpy\nscene = bpy.context.scene\nscene.render.engine = "BLENDER_WORKBENCH"\n'
                  'scene.render.resolution_percentage = 10\nscene.render.filepath = WORKDIR + "/render.png"\n'
                  'bpy.ops.render.render(write_still=True)\nprint("rendered", scene.render.filepath)\n'),
    # A stand-in for a frame's render: 1000 real renders would take minutes.
    "render_frame.py": 'C.scene.frame_set(args["frame"])\nC.scene.frame_current\n',
}
RESET = "bpy.ops.wm.read_homefile(use_factory_startup=True)"
SAVE_SCENE = ("r = C.scene.render\nr.engine = 'BLENDER_WORKBENCH'\nr.resolution_percentage = 10\n"
              "bpy.ops.wm.save_as_mainfile(filepath=args['path'], copy=True)\n" + RESET)
SHELL_VARIABLES = {"PWD", "OLDPWD", "SHLVL", "_", "DOC_ENV_DUMP"}


def pages_with_blocks() -> list[Path]:
    return [p for p in markdown.PAGES if any(b.lang in RUN and not b.not_run for b in markdown.blocks(p))]


# -- what runs and what does not -------------------------------------------------------------

def test_every_block_runs_or_says_why_not() -> None:
    problems = []
    for page in markdown.PAGES:
        for block in markdown.blocks(page):
            if block.lang in ALIASES:
                problems.append(f"{block.where}: ```{block.lang} is not run here; write ```sh or ```python")
            if block.not_run is not None and block.lang not in RUN:
                problems.append(f"{block.where}: a `not run here` mark on a ```{block.lang} block, "
                                "which is never run anyway")
            if block.not_run is not None and len(block.not_run) < 20:
                problems.append(f"{block.where}: say why it is not run, and where it is tested")
    assert not problems, "\n".join(problems)


def test_the_readme_starts_with_running_blocks() -> None:
    """The quickstart's curl, Python and notebook blocks are among those that run."""
    readme = [b for b in markdown.blocks(markdown.ROOT / "README.md") if not b.not_run]
    assert {"console", "sh", "python", "ipython"} <= {b.lang for b in readme}


# -- the server and a page's run -------------------------------------------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Running]:
    reason = servers.availability("module")
    if reason:
        missing(reason)
    running = servers.start("module", tmp_path_factory.mktemp("docs-server"))
    yield running
    running.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Page:
    """One page's run: its folder, its environment, the process groups its blocks left."""

    def __init__(self, server: servers.Running, folder: Path, state: Path) -> None:
        self.folder = folder
        self.scratch = folder.parent / (folder.name + "-scratch")
        self.scratch.mkdir()
        self.address = server.url.removeprefix("http://")
        self.gateway = f"127.0.0.1:{free_port()}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("BLENDER_HTTP_")}
        env.update(BLENDER_HTTP_URL=server.url, BLENDER_HTTP_STATE_DIR=str(state),
                   BLENDER_HTTP_GATEWAY_PORT=self.gateway.rpartition(":")[2],
                   PATH=os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""))
        self.env = env
        self.groups: list[int] = []

    def substitute(self, text: str) -> str:
        for old, new in (("localhost:7777", self.address), ("127.0.0.1:7777", self.address),
                         ("localhost:8000", self.gateway), ("127.0.0.1:8000", self.gateway)):
            text = text.replace(old, new)
        return text

    def run(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
        """Run argv in the page's folder, in a process group of its own; (status, stdout, stderr).
        Output goes to files, so a process the block leaves running cannot hold us."""
        out, err = self.scratch / f"{name}.out", self.scratch / f"{name}.err"
        with open(out, "wb") as o, open(err, "wb") as e:
            proc = subprocess.Popen(argv, cwd=self.folder, env=env or self.env, stdin=subprocess.DEVNULL,
                                    stdout=o, stderr=e, start_new_session=True)
        try:
            status = proc.wait(BLOCK_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            status = -1
        if _group_alive(proc.pid):
            self.groups.append(proc.pid)
        return status, out.read_text(errors="replace"), err.read_text(errors="replace")

    def stop_leftovers(self) -> None:
        """SIGTERM what the blocks left running (a gateway stops its workers), SIGKILL the rest."""
        for group in self.groups:
            _signal_group(group, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while any(_group_alive(g) for g in self.groups) and time.monotonic() < deadline:
            time.sleep(0.1)
        for group in self.groups:
            _signal_group(group, signal.SIGKILL)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _signal_group(group: int, sig: int) -> None:
    try:
        os.killpg(group, sig)
    except (ProcessLookupError, PermissionError):
        pass


def exec_ok(server: servers.Running, code: str, args: dict[str, str] | None = None) -> None:
    with server.client() as client:
        answer = client.post("/exec", json={"code": code, "args": args or {}}, timeout=120).json()
    assert answer["ok"], answer


@pytest.mark.blender
@pytest.mark.parametrize("page", pages_with_blocks(), ids=lambda p: str(p.relative_to(markdown.ROOT)))
def test_the_blocks_of_a_page_run(page: Path, server: servers.Running, tmp_path: Path) -> None:
    folder, state = tmp_path / "work", tmp_path / "state"
    folder.mkdir()
    state.mkdir()
    for name, text in FILES.items():
        (folder / name).write_text(text)
    exec_ok(server, SAVE_SCENE, {"path": str(folder / "scene.blend")})
    exec_ok(server, RESET)

    run = Page(server, folder, state)
    failures: list[str] = []
    todo = [b for b in markdown.blocks(page) if b.lang in RUN and not b.not_run]
    try:
        i = 0
        while i < len(todo):
            block = todo[i]
            if block.lang == "ipython":  # consecutive cells share one kernel
                cells = [block]
                while i + 1 < len(todo) and todo[i + 1].lang == "ipython":
                    i += 1
                    cells.append(todo[i])
                failures += run_notebook(run, cells)
            elif block.lang == "console":
                failures += run_console(run, block)
            elif block.lang == "python":
                failures += run_python(run, block)
            else:
                failures += run_shell(run, block)
            i += 1
    finally:
        run.stop_leftovers()
    assert not failures, "\n\n".join(failures)


# -- shell ------------------------------------------------------------------------------------

def run_shell(page: Page, block: Block) -> list[str]:
    dump = page.scratch / f"env-{block.line}"
    script = page.scratch / f"block-{block.line}.sh"
    script.write_text('trap \'env -0 > "$DOC_ENV_DUMP"\' EXIT\n' + page.substitute(block.text))
    status, out, err = page.run(f"sh-{block.line}", ["bash", "-euo", "pipefail", str(script)],
                                {**page.env, "DOC_ENV_DUMP": str(dump)})
    if dump.exists():  # what the block exported is the next block's environment
        pairs = (item.partition("=") for item in dump.read_text().split("\0") if "=" in item)
        page.env = {k: v for k, _, v in pairs if k not in SHELL_VARIABLES}
    if status != 0:
        return [f"{block.where}: exited {status}\n--- stdout\n{out}\n--- stderr\n{err}"]
    problems = []
    if '"ok":false' in out and '"ok":false' not in block.text:
        problems.append("an answer says \"ok\":false")
    for shown in shown_answers(block.text):
        if not shown.search(out):
            problems.append(f"no answer starts as shown: {shown.pattern}")
    if problems:
        return [f"{block.where}: " + "; ".join(problems) + f"\n--- stdout\n{out}\n--- stderr\n{err}"]
    return []


def shown_answers(text: str) -> list[re.Pattern[str]]:
    """The answers a shell block shows as `# {...}` comment lines, as patterns."""
    patterns = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("# {"):
            continue
        parts = [re.sub(r"<[\w-]+>", '[^"]*', re.escape(p)) for p in line[2:].split("...")]
        patterns.append(re.compile(".*?".join(parts), re.DOTALL))
    return patterns


# -- console ----------------------------------------------------------------------------------

MARK = "@@doc-block-status"


def run_console(page: Page, block: Block) -> list[str]:
    commands: list[tuple[str, list[str]]] = []
    for line in block.text.splitlines():
        if line.startswith("$ "):
            commands.append((line[2:], []))
        elif commands:
            commands[-1][1].append(line)
        else:
            return [f"{block.where}: a console block starts with its `$ ` command"]
    script = page.scratch / f"console-{block.line}.sh"
    script.write_text("".join(f"{page.substitute(cmd)}\necho \"{MARK} $?\"\n" for cmd, _ in commands))
    status, out, _ = page.run(f"console-{block.line}", ["bash", "-uo", "pipefail", "-c",
                                                         f'exec 2>&1; . "{script}"'])
    pieces = out.split(f"{MARK} ")
    problems = []
    for n, (cmd, shown) in enumerate(commands):
        if n + 1 >= len(pieces):
            problems.append(f"$ {cmd}: did not finish (the script exited {status})\n{out}")
            break
        code, _, _ = pieces[n + 1].partition("\n")
        printed = pieces[n].partition("\n")[2] if n else pieces[0]
        if code.strip() != "0":
            problems.append(f"$ {cmd}: exited {code.strip()}\n{printed}")
        elif shown and normalised(printed) != normalised("\n".join(shown)):
            problems.append(f"$ {cmd}: printed\n{printed}\nnot as shown\n" + "\n".join(shown))
    return [f"{block.where}: {p}" for p in problems]


def normalised(text: str) -> list[str]:
    """Lines with what changes from run to run (durations, job ids, Blender's version) masked."""
    text = re.sub(r'"duration_ms":[0-9.]+', '"duration_ms":N', text)
    text = re.sub(r'"job":"[^"]*"', '"job":"ID"', text)
    lines = [line.rstrip() for line in text.strip("\n").splitlines()]
    return [re.sub(r"^\d+\.\d+\.\d+$", "VERSION", line) for line in lines]


# -- python -----------------------------------------------------------------------------------

PRELUDE = '''\
import ast as __doc_ast


def __doc_check(line, shown, value):
    expected = __doc_ast.literal_eval(shown)
    if value != expected:
        raise AssertionError(f"line {line}: the value is {value!r}, the comment says {shown}")
    return value


def __doc_print(line, shown, *args, sep=" ", **kwargs):
    print(*args, sep=sep, **kwargs)
    printed = sep.join(str(a) for a in args)
    if printed != shown:
        raise AssertionError(f"line {line}: printed {printed!r}, the comment says {shown!r}")

'''


def shown_value(comment: str) -> str | None:
    """The text before a comment's first run of spaces, if it reads as a Python literal."""
    first = re.split(r"\s{2,}", comment.strip(), maxsplit=1)[0]
    try:
        ast.literal_eval(first)
    except (ValueError, SyntaxError):
        return None
    return first


def instrument(source: str) -> str:
    """source with its shown values checked: `expr  # value` and `print(...)  # line`."""
    comments: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT and token.line[:token.start[1]].strip():
            comments[token.start[0]] = token.string[1:].strip()

    class Checks(ast.NodeTransformer):
        def visit_Expr(self, node: ast.Expr) -> ast.Expr:
            self.generic_visit(node)
            comment = comments.get(node.end_lineno or node.lineno)
            if comment is None:
                return node
            value = node.value
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "print":
                shown = re.split(r"\s{2,}", comment, maxsplit=1)[0]
                node.value = ast.Call(ast.Name("__doc_print", ast.Load()),
                                      [ast.Constant(node.lineno), ast.Constant(shown), *value.args],
                                      value.keywords)
            elif (literal := shown_value(comment)) is not None:
                node.value = ast.Call(ast.Name("__doc_check", ast.Load()),
                                      [ast.Constant(node.lineno), ast.Constant(literal), value], [])
            return ast.fix_missing_locations(node)

    return PRELUDE + ast.unparse(Checks().visit(ast.parse(source))) + "\n"


def run_python(page: Page, block: Block) -> list[str]:
    script = page.scratch / f"block-{block.line}.py"
    script.write_text(instrument(page.substitute(block.text)))
    status, out, err = page.run(f"py-{block.line}", [sys.executable, str(script)])
    if status != 0:
        return [f"{block.where}: exited {status}\n--- stdout\n{out}\n--- stderr\n{err}"]
    return []


# -- notebooks --------------------------------------------------------------------------------

def run_notebook(page: Page, cells: list[Block]) -> list[str]:
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(page.substitute(c.text).rstrip("\n")) for c in cells])
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(page.folder)}})
    try:
        client.execute(env=page.env)
    except Exception as exc:  # CellExecutionError names the cell and its traceback
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
        return [f"{cells[0].where}: the notebook failed: {text[-3000:]}"]
    return [f"{block.where}: the cell did not run" for block, cell in zip(cells, notebook.cells, strict=True)
            if cell.get("execution_count") is None]


# -- the checks themselves --------------------------------------------------------------------

def test_shown_values_are_checked() -> None:
    source = "x = (3, 'hi\\n')\nx  # 3, 'hi\\n'   (also more)\nprint(x[0])  # 3\nx  # prose here\n"
    namespace: dict[str, object] = {}
    exec(compile(instrument(source), "<doc>", "exec"), namespace)
    with pytest.raises(AssertionError, match="the comment says 4"):
        exec(compile(instrument("y = 3\ny  # 4\n"), "<doc>", "exec"), {})
    with pytest.raises(AssertionError, match="printed '3'"):
        exec(compile(instrument("print(3)  # 4\n"), "<doc>", "exec"), {})


def test_shown_answers_match_their_start() -> None:
    shown = '# {"id":"<id>","status":"cancelled",...,"envelope":{"ok":false,...}}'
    [pattern] = shown_answers(f"curl x\n{shown}\n")
    assert pattern.search('{"id":"ab12","status":"cancelled","x":1,"envelope":{"ok":false,"e":2}}')
    assert not pattern.search('{"id":"ab12","status":"succeeded","envelope":{"ok":true}}')
    assert normalised('{"ok":true,"duration_ms":0.3,"job":"4c0f"}\n5.0.1\n') == \
        normalised('{"ok":true,"duration_ms":12.5,"job":"ffff"}\n4.2.3')

