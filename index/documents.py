"""Documents: find the files of a corpus folder and load each one's canonical text.

The canonical text is what every offset in the system points into, so it must come out
the same every time a file is loaded: `.txt`/`.md` are the file decoded (UTF-8, or a
detected encoding with a warning), HTML is its main text, PDF its pages' text joined by
blank lines (with `page_starts`), Word its paragraphs. Anything that can't be loaded
raises `DocumentError` with a one-line reason; the caller reports it and goes on.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from index.contained import contained, describe_os_error
from index.errors import DocumentError

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".rst"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | {".pdf", ".docx"}
# Folders that hold tool state rather than documents.
SKIP_DIRS = frozenset({".git", ".hg", ".svn", ".assistant", "__pycache__", "node_modules", ".venv", "venv"})
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
_HTML_DROP = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "iframe", "svg")
_HTML_BLOCK_TAGS = (
    "p li dt dd h1 h2 h3 h4 h5 h6 pre blockquote tr th td table div section ul ol dl figcaption caption hr".split()
)


@dataclass(frozen=True)
class Document:
    """One source file: its path relative to the corpus root and its canonical text."""

    source: str
    text: str
    sha256: str
    title: str = ""
    page_starts: tuple[int, ...] = field(default=())
    warnings: tuple[str, ...] = field(default=(), compare=False)


def discover(root: Path) -> list[str]:
    """Relative POSIX paths of the loadable files under `root`, sorted; hidden entries and
    tool folders skipped. Symlinked folders are not followed, so link loops can't trap it."""
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


def load(root: Path, source: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Read document `source` under `root` as a Document; raises DocumentError with the reason if
    it can't (outside the folder included: see `index.contained`)."""
    path = contained(root, source)
    try:
        info = path.stat()
        if info.st_size > max_bytes:
            raise DocumentError(
                source, f"too large ({info.st_size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB)"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(source, describe_os_error(exc)) from exc
    if not data.strip():
        raise DocumentError(source, "empty")
    suffix = Path(source).suffix.lower()
    if suffix == ".pdf":
        text, title, pages, warnings = _pdf(source, data)
    elif suffix == ".docx":
        text, title, warnings = _docx(source, data)
        pages = []
    else:
        if _looks_binary(data):
            raise DocumentError(source, "binary file, not text")
        decoded, warnings = _decode(data)
        if suffix in HTML_SUFFIXES:
            text, title = _html(decoded)
        else:
            text, title = decoded, _markdown_title(source, decoded)
        pages = []
    if not text.strip():
        raise DocumentError(source, "no text in it")
    return Document(source, text, sha256_bytes(data), title or Path(source).name, tuple(pages), tuple(warnings))


def _looks_binary(data: bytes) -> bool:
    head = data[:8192]
    return b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff"))  # UTF-16 has NULs too


def _decode(data: bytes) -> tuple[str, list[str]]:
    """UTF-8 if it is; else the detected encoding, else UTF-8 with replacement; warned either way."""
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if matches:
        # Short texts fit several code pages equally well; among the equally good, prefer
        # Windows-1252, the most common non-UTF-8 encoding of Western text.
        best = min(matches, key=lambda m: (m.chaos, m.encoding != "cp1252"))
        return str(best), [f"not UTF-8; decoded as {best.encoding}"]
    return data.decode("utf-8", errors="replace"), ["not UTF-8 and no encoding detected; undecodable bytes replaced"]


def _markdown_title(source: str, text: str) -> str:
    if source.lower().endswith((".md", ".markdown")):
        for line in text.splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return ""


def _html(markup: str) -> tuple[str, str]:
    """The main text of a page (no scripts, styles or navigation), one block per paragraph."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "lxml")  # lxml's parser: several times faster than html.parser
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(_HTML_DROP):
        tag.decompose()
    # find_all rather than CSS selectors: the same tags, without soupsieve's cost on big pages.
    for tag in soup.find_all(role=["navigation", "search"]) + soup.find_all(
        class_=["sphinxsidebar", "related", "headerlink"]
    ):
        tag.decompose()
    main = soup.find("main") or soup.find(role="main") or soup.find("article") or soup.body or soup
    # Blocks are separated by blank lines; inline markup (links, code spans) joins its text
    # with no separator, so "<code>shutil.copytree()</code>" stays one word.
    for tag in main.find_all(_HTML_BLOCK_TAGS):
        # A definition term runs on into its definition ("heapq.heappush(heap, item) Push the
        # value item onto the heap…"), so reference entries read as one sentence.
        opens_definition = tag.name == "dd" or (
            tag.parent is not None and tag.parent.name == "dd" and tag.find_previous_sibling(True) is None
        )
        if not opens_definition:
            tag.insert_before("\n\n")
        tag.insert_after(" " if tag.name == "dt" else "\n\n")
    for br in main.find_all("br"):
        br.replace_with("\n")
    blocks = [" ".join(b.split()) for b in re.split(r"\n[ \t\r\f\v\u00a0]*\n", main.get_text(""))]
    blocks = [b for b in blocks if b]
    if not title:
        h1 = main.find("h1") if hasattr(main, "find") else None
        title = h1.get_text(" ", strip=True) if h1 else ""
    return "\n\n".join(blocks), title


def _pdf(source: str, data: bytes) -> tuple[str, str, list[int], list[str]]:
    """Pages' text joined by blank lines; `page_starts[i]` is where page i+1 begins."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    raise DocumentError(source, "encrypted PDF (needs a password)")
            except DocumentError:
                raise
            except Exception as exc:  # unsupported encryption looks like any other failure
                raise DocumentError(source, f"encrypted PDF ({exc})") from exc
        texts = [(page.extract_text() or "").strip() for page in reader.pages]
        meta = reader.metadata
        title = (meta.title or "") if meta else ""
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise DocumentError(source, f"corrupt PDF ({type(exc).__name__}: {' '.join(str(exc).split())[:100]})") from exc
    starts, parts, pos = [], [], 0
    for text in texts:
        starts.append(pos)
        parts.append(text)
        pos += len(text) + 2
    warnings = (
        [f"{sum(1 for t in texts if not t)} of {len(texts)} pages have no text (scanned?)"] if "" in texts else []
    )
    return "\n\n".join(parts), str(title), starts, warnings


def _docx(source: str, data: bytes) -> tuple[str, str, list[str]]:
    """Paragraphs (and table cells) in order, one per block."""
    from docx import Document as Docx

    try:
        doc = Docx(io.BytesIO(data))
    except Exception as exc:  # python-docx raises many kinds on a bad zip
        raise DocumentError(source, f"corrupt Word file ({type(exc).__name__})") from exc
    blocks = [" ".join(p.text.split()) for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            blocks.append(" | ".join(" ".join(c.text.split()) for c in row.cells))
    title = doc.core_properties.title or next(
        (
            " ".join(p.text.split())
            for p in doc.paragraphs
            if p.style is not None and p.style.name.startswith("Heading")
        ),
        "",
    )
    return "\n\n".join(b for b in blocks if b), title, []
