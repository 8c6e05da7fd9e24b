"""The work folder behind /files: safe paths, streamed atomic writes, listings.

Every operation walks from the folder's root one name at a time and follows no symbolic link
(dirs.py): a name is checked and used through the same open folder, so swapping a folder
for a link meanwhile reaches nothing outside."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import HttpError
from ..protocol import file_path_problem
from . import paged
from .dirs import INTERNAL, Folder


class WorkFolder:
    def __init__(self, root: str) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        # Uploads get the mode any new file of this user gets (read once: umask is per process).
        umask = os.umask(0o022)
        os.umask(umask)
        self._file_mode = 0o666 & ~umask

    def _parts(self, relative: str, internal: bool) -> list[str]:
        """The names on the way to a client-given path; 400 for anything that leaves the
        folder or means something else on some platform (protocol.file_path_problem), and
        for the server's own folder of files in flight unless internal."""
        problem = file_path_problem(relative)
        if problem is None and Path(relative).is_absolute():  # "C:/x" on Windows
            problem = "absolute paths are not allowed; give a path inside the files folder"
        if problem is not None:
            raise HttpError(400, problem)
        parts = relative.split("/")
        if not internal and parts[0] == INTERNAL:
            raise HttpError(400, f"{INTERNAL}/ holds the server's files in flight; choose another path")
        return parts

    @contextlib.contextmanager
    def _folder_of(self, relative: str, parts: list[str], *, create: bool = False) -> Iterator[Folder]:
        """The open folder holding the last name of parts, walked to without following a link
        (made on the way when create)."""
        folder = Folder.open_root(str(self.root))
        try:
            for name in parts[:-1]:
                try:
                    inner = folder.child(name, create=create)
                except FileNotFoundError:
                    raise HttpError(404, f"no file {relative!r} in the files folder") from None
                except (NotADirectoryError, FileExistsError):
                    raise HttpError(409, f"{name!r} on the way to {relative!r} is a file, not a folder") \
                        from None
                folder.close()
                folder = inner
            yield folder
        except OSError as exc:
            raise _caller_error(exc, relative) from exc
        finally:
            folder.close()

    def resolve(self, relative: str, *, internal: bool = False) -> Path:
        """The path of a client-given relative path, for code that must hand Blender a path
        (import, export): checked now to hold no link, by name; a link swapped in later would
        still be followed there, so the file tools that need no path use open/write/delete."""
        parts = self._parts(relative, internal)
        try:
            with self._folder_of(relative, parts) as folder:
                if (entry := folder.lstat(parts[-1])) is not None and stat.S_ISLNK(entry.st_mode):
                    raise HttpError(400, f"{parts[-1]!r} is a symbolic link; links are not followed in "
                                         "the files folder")
        except HttpError as exc:
            if exc.status != 404:  # folders still to be made (an export's target) are fine
                raise
        return self.root.joinpath(*parts)

    def write(self, relative: str, chunks: Iterable[bytes], *, internal: bool = False
              ) -> tuple[Path, int, bool]:
        """Stream chunks to a temporary file beside the target, then rename it into place,
        so a reader never sees half a file. Returns (path, size, created)."""
        parts = self._parts(relative, internal)
        name = parts[-1]
        with self._folder_of(relative, parts, create=True) as folder:
            existing = folder.lstat(name)
            if existing is not None and stat.S_ISDIR(existing.st_mode):
                raise HttpError(400, "the path names a folder")
            if existing is not None and not stat.S_ISREG(existing.st_mode):
                raise HttpError(400, f"{name!r} is a symbolic link or a special file; links are not "
                                     "followed in the files folder")
            out, tmp = folder.new_temporary(self._file_mode)
            size = 0
            try:
                with out:
                    for chunk in chunks:
                        out.write(chunk)
                        size += len(chunk)
                folder.replace(tmp, name)
            except BaseException:
                with contextlib.suppress(OSError):
                    folder.unlink(tmp)
                raise
        return self.root.joinpath(*parts), size, existing is None

    def open(self, relative: str) -> tuple[BinaryIO, int]:
        """An open file and its size, or 404."""
        parts = self._parts(relative, False)
        with self._folder_of(relative, parts) as folder:
            try:
                handle = folder.open_file(parts[-1])
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                raise HttpError(404, f"no file {relative!r} in the files folder") from None
        return handle, os.fstat(handle.fileno()).st_size

    def delete(self, relative: str) -> None:
        parts = self._parts(relative, False)
        with self._folder_of(relative, parts) as folder:
            entry = folder.lstat(parts[-1])
            if entry is None or stat.S_ISDIR(entry.st_mode):
                raise HttpError(404, f"no file {relative!r} in the files folder")
            folder.unlink(parts[-1])  # a link is removed itself, never its target

    def page(self, after: tuple[str, ...] | None, limit: int) -> paged.Page:
        """The files after the path parts `after`, at most limit of them and paged.MAX_ENTRIES
        names looked at (paged.py)."""
        return paged.page(str(self.root), after, limit, paged.MAX_ENTRIES)


def _caller_error(exc: OSError, relative: str) -> HttpError | OSError:
    """The OS's refusals that are the caller's, as 4xx; anything else stays a server error."""
    if exc.errno == errno.ENAMETOOLONG:
        return HttpError(400, f"the path {relative!r} is too long for the file system")
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return HttpError(409, f"a file on the way to {relative!r} is not a folder")
    if exc.errno == errno.EISDIR:
        return HttpError(400, "the path names a folder")
    if exc.errno == errno.ENOSPC:
        return HttpError(507, "no space left in the files folder")
    return exc
