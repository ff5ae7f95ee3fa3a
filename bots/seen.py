"""What `assistant ask` has already told this data dir's user: a skipped file's reason is said
once, and again only when the file (or the reason) changes."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path


class Reported:
    """Skipped files already reported, with the file's size and time and the reason, in a JSON file."""

    def __init__(self, path: Path):
        self.path = path

    def fresh(self, skipped: Sequence[tuple[str, str]], locate: Callable[[str], Path | None]) -> list[tuple[str, str]]:
        """The skips not reported before (and remembers them); a file skipped no more is forgotten."""
        try:
            before = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            before = {}
        now = {source: [reason, *_stamp(locate(source))] for source, reason in skipped}
        if now != before:
            self._save(now)
        return [(source, reason) for source, reason in skipped if before.get(source) != now[source]]

    def _save(self, data: dict) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".reported-")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh)
            os.replace(tmp, self.path)  # another `ask` at the same time reads a whole file
        except OSError:
            pass  # only costs a repeated line next time


def _stamp(path: Path | None) -> list[int]:
    try:
        st = path.stat() if path is not None else None
    except OSError:
        return []
    return [st.st_size, st.st_mtime_ns] if st else []
