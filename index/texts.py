"""Canonical texts for checking citations, kept in memory and on disk.

Every answer checks its quotes against the file as it is now. For HTML, PDF and Word
files that meant parsing the whole document per answer (about a second for a big page,
more than the rest of a one-shot `ask`). Sync saves each document's extracted text with
the file's size and mtime; a reader gets it back only while both still match, so an
edited file is parsed again and a quote that no longer matches is still dropped. The
last few texts read are also kept in memory, keyed the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from pathlib import Path

from index.contained import contained
from index.documents import DEFAULT_MAX_BYTES, load
from index.errors import DocumentError

IN_MEMORY = 64  # documents' texts kept in memory


class TextCache:
    """`source -> text` for the files under `root`, cached under `folder` while each file's
    size and mtime are unchanged."""

    def __init__(self, folder: Path, root: Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES):
        self.folder = folder
        self.root = root
        self.max_bytes = max_bytes
        self._memory: OrderedDict[tuple[str, int, int], str] = OrderedDict()
        self._lock = threading.Lock()

    def text_of(self, source: str) -> str | None:
        """The canonical text of `source` as the file is now; None if it can't be read (deleted, unreadable)."""
        if self.root is None:
            raise ValueError("a TextCache without a root folder can only get and put")
        try:
            stat = contained(self.root, source).stat()
        except (DocumentError, OSError):
            return None
        key = (source, stat.st_size, stat.st_mtime_ns)
        with self._lock:
            if key in self._memory:
                self._memory.move_to_end(key)
                return self._memory[key]
        text = self.get(source, stat)
        if text is None:
            try:
                text = load(self.root, source, self.max_bytes).text
            except (DocumentError, OSError):
                return None
            self.put(source, stat, text)
        with self._lock:
            self._memory[key] = text
            while len(self._memory) > IN_MEMORY:
                self._memory.popitem(last=False)
        return text

    def _file(self, source: str) -> Path:
        return self.folder / f"{hashlib.sha256(source.encode()).hexdigest()[:32]}.json"

    def get(self, source: str, stat: os.stat_result) -> str | None:
        """The saved text of `source` if it was saved for this size and mtime."""
        try:
            record = json.loads(self._file(source).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if record.get("source") != source or [record.get("size"), record.get("mtime_ns")] != [
            stat.st_size,
            stat.st_mtime_ns,
        ]:
            return None
        text = record.get("text")
        return text if isinstance(text, str) else None

    def put(self, source: str, stat: os.stat_result, text: str) -> None:
        record = {"source": source, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "text": text}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self._file(source).with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(json.dumps(record), encoding="utf-8")
            os.replace(tmp, self._file(source))  # readers see the old record or the new one, never half
        except OSError:
            pass  # only a cache: the next reader parses the file instead

    def drop(self, source: str) -> None:
        self._file(source).unlink(missing_ok=True)
