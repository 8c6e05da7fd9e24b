"""The work folder's files one page at a time, in a fixed order, with a bound on the work of
each page: what GET /files and MCP's list_files and resources/list answer.

The order is that of the paths' parts (('a', 'b') before ('a.txt',)), which is the order of
a walk that visits each folder's names sorted, so a page starts where the last one ended by
skipping whole folders that sort before it. A page ends after `limit` files or after
`max_entries` names looked at, whichever comes first; the caller continues after the last
path it got. Links are neither followed nor listed (dirs.py), nor are the server's files in
flight or half-written uploads (folder.py)."""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from typing import Any

from ..errors import HttpError
from ..protocol import MAX_FILE_PATH_CHARS
from .dirs import INTERNAL, UPLOAD_PREFIX, Folder


@dataclass
class Page:
    files: list[dict[str, Any]] = field(default_factory=list)
    # The parts of the last path looked at, where the next page starts (None: no more).
    resume: tuple[str, ...] | None = None

    @property
    def next_after(self) -> str | None:
        """Where the next page starts, as the path a client sends back (None: no more)."""
        return "/".join(self.resume) if self.resume is not None else None


# Names one page looks at, at most: a page is then bounded work, however large the folder.
MAX_ENTRIES = 10_000


def after_parts(path: str | None, name: str) -> tuple[str, ...] | None:
    """The parts of a path a client sent back to continue a listing (a page's next_after; None
    or empty: from the start); 400 naming the parameter when no path is that long."""
    if not path:
        return None
    if len(path) > MAX_FILE_PATH_CHARS:
        raise HttpError(400, f"{name} is a path of at most {MAX_FILE_PATH_CHARS} characters")
    return tuple(path.split("/"))


class _Full(Exception):
    """The page is full, or its bound on names looked at is reached."""


def page(root: str, after: tuple[str, ...] | None, limit: int, max_entries: int) -> Page:
    """Files whose path parts sort after `after` (from the start when None): at most limit
    of them, looking at no more than max_entries names."""
    out = Page()
    walk = _Walk(out, after or (), limit, max_entries)
    with Folder.open_root(root) as folder:
        try:
            walk.folder(folder, ())
        except _Full:
            out.resume = walk.last
    return out


class _Walk:
    def __init__(self, out: Page, after: tuple[str, ...], limit: int, max_entries: int) -> None:
        self.out, self.after, self.limit, self.left = out, after, limit, max_entries
        self.last: tuple[str, ...] = after

    def folder(self, folder: Folder, prefix: tuple[str, ...]) -> None:
        try:
            names = sorted(folder.names())
        except OSError:  # removed while we walked
            return
        # Where `after` goes on inside this folder (only while prefix is its start).
        bound = self.after[len(prefix)] if self.after[:len(prefix)] == prefix and \
            len(self.after) > len(prefix) else None
        for name in names:
            if bound is not None and name < bound:
                continue
            parts = (*prefix, name)
            # The name on the way to where the last page ended is walked again, not counted
            # (a file there was listed already): each page gets past it.
            if name != bound:
                if self.left <= 0:
                    raise _Full
                self.left -= 1
                self.last = parts
            entry = folder.lstat(name)
            if entry is None:
                continue
            if stat.S_ISDIR(entry.st_mode):
                if not prefix and name == INTERNAL:
                    continue
                try:
                    inner = folder.child(name)
                except (OSError, HttpError):  # a link, or gone meanwhile
                    continue
                with inner:
                    self.folder(inner, parts)
            elif name != bound and stat.S_ISREG(entry.st_mode) and not name.startswith(UPLOAD_PREFIX):
                self.out.files.append({"path": "/".join(parts), "size": entry.st_size,
                                       "modified": entry.st_mtime})
                if len(self.out.files) >= self.limit:
                    raise _Full
