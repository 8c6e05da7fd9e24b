"""Folders of the work folder opened one name at a time, never following a symbolic link.

A path checked by name and then opened by name again can be swapped for a link in between
(check, then use): with a folder exchanged for a link to outside in a loop, reads and writes
by name reached outside. So on POSIX every step is taken relative to an open descriptor of
the folder above it (`dir_fd`), each name opened with O_NOFOLLOW: what was checked is what
is used, and no link is followed, inside the folder or out.

Windows has no `dir_fd`: there each name on the way is checked not to be a link or a
junction (a reparse point) just before it is used, by path. Making such a link on Windows
takes an administrator or developer mode, and the gap between check and use stays open
there (docs/SECURITY.md says so).
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
import sys
from typing import BinaryIO

from ..errors import HttpError

# Descriptor-relative calls are there (Linux, macOS, the BSDs).
BY_DESCRIPTOR = os.open in os.supports_dir_fd and hasattr(os, "O_NOFOLLOW")
_CLOEXEC = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOINHERIT", 0) | getattr(os, "O_BINARY", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_REPARSE_POINT = getattr(stat, "FILE_ATTRIBUTE_REPARSE_POINT", 0x400)
UPLOAD_PREFIX = ".upload-"
# Where the server keeps files in flight for one request (renders, exports, imports, see
# scratch.py): not listed, and not reachable through client paths (folder.py).
INTERNAL = ".blender-http"


def _link_refused(name: str) -> HttpError:
    return HttpError(400, f"{name!r} is a symbolic link; links are not followed in the files folder")


class Folder:
    """One open folder of the work folder (POSIX: its descriptor; Windows: its checked path)."""

    def __init__(self, fd: int | None, path: str) -> None:
        self.fd = fd
        self.path = path

    @classmethod
    def open_root(cls, root: str) -> Folder:
        if BY_DESCRIPTOR:
            return cls(os.open(root, os.O_RDONLY | _DIRECTORY | _CLOEXEC), root)
        return cls(None, root)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> Folder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _at(self, name: str) -> str:
        return name if self.fd is not None else os.path.join(self.path, name)

    def lstat(self, name: str) -> os.stat_result | None:
        """The entry itself (a link as a link), or None when there is none."""
        try:
            return os.stat(self._at(name), dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def child(self, name: str, *, create: bool = False) -> Folder:
        """The folder `name` in this one (made when create), never through a link."""
        if create:
            try:
                os.mkdir(self._at(name), dir_fd=self.fd)
            except FileExistsError:
                pass
        if self.fd is None:
            entry = self.lstat(name)
            if entry is None:
                raise FileNotFoundError(errno.ENOENT, "no such folder", name)
            if _is_link(entry):
                raise _link_refused(name)
            if not stat.S_ISDIR(entry.st_mode):
                raise NotADirectoryError(errno.ENOTDIR, "not a folder", name)
            return Folder(None, os.path.join(self.path, name))
        try:
            fd = os.open(name, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=self.fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP or (exc.errno == errno.ENOTDIR and _is_link(self.lstat(name))):
                raise _link_refused(name) from None
            raise
        return Folder(fd, os.path.join(self.path, name))

    def open_file(self, name: str) -> BinaryIO:
        """The regular file `name` in this folder, for reading; never a link's target."""
        if self.fd is None:
            entry = self.lstat(name)
            if _is_link(entry):
                raise _link_refused(name)
            if entry is not None and stat.S_ISDIR(entry.st_mode):  # Windows: "permission denied"
                raise IsADirectoryError(errno.EISDIR, "a folder, not a file", name)
        try:
            fd = os.open(self._at(name), os.O_RDONLY | _NOFOLLOW | _CLOEXEC, dir_fd=self.fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _link_refused(name) from None
            raise
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise IsADirectoryError(errno.EISDIR, "not a file", name)
        return os.fdopen(fd, "rb")

    def new_temporary(self, mode: int) -> tuple[BinaryIO, str]:
        """A new file of its own beside the others (O_EXCL: never an existing one or a link)."""
        for _ in range(100):
            name = UPLOAD_PREFIX + secrets.token_hex(8)
            try:
                fd = os.open(self._at(name), os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC,
                             mode, dir_fd=self.fd)
            except FileExistsError:
                continue
            if sys.platform != "win32":  # the mode this user's new files get, not umask's 0600
                os.fchmod(fd, mode)
            return os.fdopen(fd, "wb"), name
        raise FileExistsError(errno.EEXIST, "no free temporary name", self.path)

    def replace(self, source: str, target: str) -> None:
        """Rename source over target within this folder (atomic; a link named target is
        replaced itself, never followed)."""
        os.replace(self._at(source), self._at(target), src_dir_fd=self.fd, dst_dir_fd=self.fd)

    def unlink(self, name: str) -> None:
        os.unlink(self._at(name), dir_fd=self.fd)

    def names(self) -> list[str]:
        """The names in this folder (lstat() tells what each is, links as links)."""
        return os.listdir(self.fd if self.fd is not None else self.path)


def _is_link(entry: os.stat_result | None) -> bool:
    if entry is None:
        return False
    return stat.S_ISLNK(entry.st_mode) or bool(getattr(entry, "st_file_attributes", 0) & _REPARSE_POINT)
