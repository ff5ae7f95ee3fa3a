"""From a document's name to its file: the one place a name becomes a path under a corpus folder.

Every reader goes through `contained`: sync, the text cache, the watcher, and (behind the index's
own list of what it holds) every front end that reads a document a request names. A name must be
a plain relative POSIX path, and the file, every symlink resolved, must lie inside the folder, so
neither `../`, an absolute path, a drive letter, a backslash nor a link leaving the folder opens
anything outside it. `tests/test_containment.py` fails if another module joins a name onto a folder.
"""

from __future__ import annotations

import errno
import os
import re
import stat as stat_module
from pathlib import Path

from index.errors import DocumentError, Error

MAX_NAME = 1024  # characters; longer names are no document's
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\\]")  # NUL, control characters and backslashes
_DRIVE = re.compile(r"^[A-Za-z]:")


class NoSuchDocument(Error):
    """A requested name that is not a document its space's index holds: one reply for every reason
    (not indexed, outside the folder, gone, unreadable), so it tells nobody which files exist."""

    def __init__(self) -> None:
        super().__init__("no such document")


def plain_name(name: object) -> bool:
    """`name` is a relative POSIX path of ordinary segments: not empty or absolute, no drive
    letter, backslash, NUL or control character, and no empty, `.` or `..` segment."""
    if not isinstance(name, str) or not name or len(name) > MAX_NAME:
        return False
    if name.startswith("/") or _DRIVE.match(name) or _UNSAFE.search(name):
        return False
    return all(part not in ("", ".", "..") for part in name.split("/"))


def describe_os_error(exc: OSError) -> str:
    """A short reason for a file that can't be opened."""
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    if exc.errno == errno.ENOENT:
        return "broken symlink" if exc.filename and os.path.islink(exc.filename) else "file vanished"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return f"cannot read: {exc.strerror or exc}"


def contained(root: Path, name: str) -> Path:
    """The real path of document `name` under `root`: a regular file inside `root` once every
    symlink is resolved. Raises DocumentError with the reason (for sync's report) otherwise."""
    if not plain_name(name):
        raise DocumentError(str(name)[:200], "not a relative path inside the folder")
    base = root.resolve()
    path = base.joinpath(name)  # the one join of a name onto a folder
    try:
        info = path.stat()  # first, so a broken link or a loop is named as such
        real = path.resolve(strict=True)
    except RuntimeError as exc:  # resolve() on a link loop, in some Python versions
        raise DocumentError(name, "symlink loop") from exc
    except OSError as exc:
        raise DocumentError(name, describe_os_error(exc)) from exc
    if not real.is_relative_to(base):
        raise DocumentError(name, "a link to a file outside the folder")
    if not stat_module.S_ISREG(info.st_mode):
        raise DocumentError(name, "not a regular file")
    return real
