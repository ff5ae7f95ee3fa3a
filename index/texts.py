"""Canonical texts kept on disk, so checking a citation doesn't mean parsing the file again.

Every answer checks its quotes against the file as it is now. For HTML, PDF and Word
files that meant parsing the whole document per answer (about a second for a big page,
more than the rest of a one-shot `ask`). Sync saves each document's extracted text with
the file's size and mtime; a reader gets it back only while both still match, so an
edited file is parsed again and a quote that no longer matches is still dropped.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


class TextCache:
    """`source -> text` on disk under `folder`, valid while the file's size and mtime are unchanged."""

    def __init__(self, folder: Path):
        self.folder = folder

    def _file(self, source: str) -> Path:
        return self.folder / f"{hashlib.sha256(source.encode()).hexdigest()[:32]}.json"

    def get(self, source: str, stat: os.stat_result) -> str | None:
        try:
            record = json.loads(self._file(source).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if record.get("source") != source or [record.get("size"), record.get("mtime_ns")] != [
            stat.st_size, stat.st_mtime_ns
        ]:
            return None
        return record.get("text")

    def put(self, source: str, stat: os.stat_result, text: str) -> None:
        record = {"source": source, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "text": text}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self._file(source).with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(record), encoding="utf-8")
            os.replace(tmp, self._file(source))  # readers see the old record or the new one, never half
        except OSError:
            pass  # only a cache: the next reader parses the file instead

    def drop(self, source: str) -> None:
        self._file(source).unlink(missing_ok=True)
