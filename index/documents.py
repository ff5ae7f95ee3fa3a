"""Documents: find the files of a corpus folder and load each one's canonical text.

The canonical text is what every offset in the system points into, so loaders never
normalise it: a `.txt` or `.md` file is its bytes decoded as UTF-8, unchanged.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from index.errors import DocumentError

SUFFIXES = frozenset({".txt", ".md", ".markdown"})
# Folders that hold tool state rather than documents.
SKIP_DIRS = frozenset({".git", ".hg", ".svn", ".assistant", "__pycache__", "node_modules"})


@dataclass(frozen=True)
class Document:
    """One source file: its path relative to the corpus root and its canonical text."""

    source: str
    text: str
    sha256: str
    title: str = ""
    page_starts: tuple[int, ...] = field(default=())


def discover(root: Path) -> list[str]:
    """Relative POSIX paths of the loadable files under `root`, sorted; hidden entries skipped."""
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIP_DIRS)
        for name in filenames:
            if name.startswith(".") or Path(name).suffix.lower() not in SUFFIXES:
                continue
            found.append(Path(dirpath, name).relative_to(root).as_posix())
    return sorted(found)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load(root: Path, source: str) -> Document:
    """Read `root/source` as a Document; raises DocumentError with the reason if it can't."""
    path = root / source
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(source, f"cannot read: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(source, f"not UTF-8 text (byte {exc.start})") from exc
    if not text.strip():
        raise DocumentError(source, "empty")
    return Document(source=source, text=text, sha256=sha256_bytes(data), title=_title(source, text))


def _title(source: str, text: str) -> str:
    """A Markdown file's first heading, else the file name."""
    if source.lower().endswith((".md", ".markdown")):
        for line in text.splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return Path(source).name
