"""The work folder behind /files: safe paths, streamed atomic writes, listings."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import HttpError
from ..protocol import file_path_problem

# Where the server keeps files in flight for one request (renders, exports, imports, see
# scratch.py): not listed, and not reachable through client paths.
INTERNAL = ".blender-http"


class WorkFolder:
    def __init__(self, root: str) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        # mkstemp makes 0600 files; uploads get the mode any new file of this user gets.
        umask = os.umask(0o022)
        os.umask(umask)
        self._file_mode = 0o666 & ~umask

    def resolve(self, relative: str, *, internal: bool = False) -> Path:
        """The real path for a client-given relative path; 400 for anything that leaves
        the folder: '..', absolute paths, NUL bytes, or links pointing outside, and for the
        server's own folder of files in flight unless internal."""
        problem = file_path_problem(relative)
        if problem is None and Path(relative).is_absolute():  # "C:/x" on Windows
            problem = "absolute paths are not allowed; give a path inside the files folder"
        if problem is not None:
            raise HttpError(400, problem)
        path = (self.root / relative).resolve()
        if path != self.root and self.root not in path.parents:
            raise HttpError(400, "the path leads outside the files folder")
        if not internal and path.relative_to(self.root).parts[:1] == (INTERNAL,):
            raise HttpError(400, f"{INTERNAL}/ holds the server's files in flight; choose another path")
        return path

    def write(self, relative: str, chunks: Iterable[bytes], *, internal: bool = False
              ) -> tuple[Path, int, bool]:
        """Stream chunks to a temporary file beside the target, then rename it into place,
        so a reader never sees half a file. Returns (path, size, created)."""
        path = self.resolve(relative, internal=internal)
        if relative.endswith("/") or path.is_dir():
            raise HttpError(400, "the path names a folder")
        path.parent.mkdir(parents=True, exist_ok=True)
        # mkdir may have followed a link; check again now that the folder exists.
        path = self.resolve(relative, internal=internal)
        created = not path.exists()
        fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=path.parent)
        size = 0
        try:
            os.fchmod(fd, self._file_mode)
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                    size += len(chunk)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
        return path, size, created

    def open(self, relative: str) -> tuple[BinaryIO, int]:
        """An open file and its size, or 404."""
        path = self.resolve(relative)
        if not path.is_file():
            raise HttpError(404, f"no file {relative!r} in the files folder")
        handle = path.open("rb")
        return handle, os.fstat(handle.fileno()).st_size

    def delete(self, relative: str) -> None:
        path = self.resolve(relative)
        if path == self.root:
            raise HttpError(400, "the files folder itself cannot be deleted")
        if not path.is_file():
            raise HttpError(404, f"no file {relative!r} in the files folder")
        path.unlink()

    def listing(self) -> list[dict[str, Any]]:
        """Every file under the folder, with size and modification time."""
        out: list[dict[str, Any]] = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))
                           and not (d == INTERNAL and dirpath == str(self.root))]
            for name in filenames:
                if name.startswith(".upload-"):
                    continue
                full = Path(dirpath, name)
                try:
                    stat = full.stat()
                except OSError:
                    continue
                out.append({"path": full.relative_to(self.root).as_posix(),
                            "size": stat.st_size, "modified": stat.st_mtime})
        out.sort(key=lambda item: str(item["path"]))
        return out
