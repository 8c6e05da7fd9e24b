"""User code as notebook cells: compiling a cell (the value of a final expression
statement is its result) and describing its errors with the user's own lines."""

from __future__ import annotations

import ast
import functools
import linecache
import traceback
from types import CodeType, TracebackType
from typing import Any

FILENAME = "<exec>"


@functools.lru_cache(maxsize=256)
def compile_cell(source: str) -> tuple[CodeType, CodeType | None, bool]:
    """Code for all statements but a trailing expression, code for that expression, and
    whether the code assigns a name `result` anywhere."""
    tree = ast.parse(source, FILENAME, "exec")
    stores_result = any(isinstance(node, ast.Name) and node.id == "result"
                        and isinstance(node.ctx, ast.Store) for node in ast.walk(tree))
    last: ast.Expression | None = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body[-1].value)
        del tree.body[-1]
    # dont_inherit: this module's own __future__ flags must not change the user's code.
    body = compile(tree, FILENAME, "exec", dont_inherit=True)
    expr = compile(last, FILENAME, "eval", dont_inherit=True) if last is not None else None
    return body, expr, stores_result


def describe_error(exc: BaseException, source: str) -> dict[str, Any]:
    """The "error" object of an envelope: type, message, user line and a traceback that
    starts at the user's code, not at the server's frames."""
    tb = _first_user_frame(exc.__traceback__)
    linecache.cache[FILENAME] = (len(source), None, source.splitlines(True), FILENAME)
    try:
        formatted = "".join(traceback.TracebackException(
            type(exc), exc, tb, compact=True).format())
    finally:
        linecache.cache.pop(FILENAME, None)
    return {
        "type": type(exc).__name__,
        "message": _message(exc),
        "line": _user_line(exc, tb),
        "traceback": formatted,
    }


def _first_user_frame(tb: TracebackType | None) -> TracebackType | None:
    # None when the user's code never ran (a SyntaxError): no frames to show then.
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == FILENAME:
            return tb
        tb = tb.tb_next
    return None


def _user_line(exc: BaseException, tb: TracebackType | None) -> int | None:
    if isinstance(exc, SyntaxError) and exc.filename == FILENAME:
        return exc.lineno
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _message(exc: BaseException) -> str:
    # User code defines the exception: its __str__ (or its exit code's __repr__) may
    # raise, and the answer must still say what was raised.
    try:
        if isinstance(exc, SystemExit):
            return f"the code called sys.exit({exc.code!r}); the server stays up"
        if isinstance(exc, SyntaxError):
            return exc.msg or str(exc)
        return str(exc)
    except Exception as failure:
        return f"<the exception's message could not be built: {type(failure).__name__}>"
