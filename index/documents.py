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
from collections import Counter
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
_HTML_HEADINGS = ["h1", "h2", "h3", "h4", "h5", "h6"]
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
    # Headings the file marks by style (HTML h1-h6, Word heading styles, a PDF's larger or bold
    # lines): (start, end, level). Markdown's and plain text's are read off the text (index.sections).
    headings: tuple[tuple[int, int, int], ...] = field(default=(), compare=False)
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
    headings: list[tuple[int, int, int]] = []
    pages: list[int] = []
    if suffix == ".pdf":
        text, title, pages, headings, warnings = _pdf(source, data)
    elif suffix == ".docx":
        text, title, headings, warnings = _docx(source, data)
    else:
        if _looks_binary(data):
            raise DocumentError(source, "binary file, not text")
        decoded, warnings = _decode(data)
        if suffix in HTML_SUFFIXES:
            text, title, headings = _html(decoded)
        else:
            text, title = decoded, _markdown_title(source, decoded)
    if not text.strip():
        raise DocumentError(source, "no text in it")
    return Document(
        source, text, sha256_bytes(data), title or Path(source).name, tuple(pages), tuple(headings), tuple(warnings)
    )


def _joined(blocks: list[str], levels: list[int]) -> tuple[str, list[tuple[int, int, int]]]:
    """`blocks` joined by blank lines, and the spans of those with a heading level (non-zero)."""
    spans, pos = [], 0
    for block, level in zip(blocks, levels, strict=True):
        if level:
            spans.append((pos, pos + len(block), level))
        pos += len(block) + 2
    return "\n\n".join(blocks), spans


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


def _html(markup: str) -> tuple[str, str, list[tuple[int, int, int]]]:
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
    # Each heading's text as its block will read (inline markup joined with no separator).
    marked = Counter((" ".join(h.get_text("").split()), int(h.name[1])) for h in main.find_all(_HTML_HEADINGS))
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
    levels = []  # each block's heading level (0: none), each heading's text taken once
    by_text = {t: lvl for t, lvl in marked}
    for b in blocks:
        lvl = by_text.get(b, 0)
        if lvl and marked[(b, lvl)] > 0:
            marked[(b, lvl)] -= 1
            levels.append(lvl)
        else:
            levels.append(0)
    text, headings = _joined(blocks, levels)
    return text, title, headings


def _pdf(source: str, data: bytes) -> tuple[str, str, list[int], list[tuple[int, int, int]], list[str]]:
    """Pages' text joined by blank lines; `page_starts[i]` is where page i+1 begins. Lines set in
    a larger or bold font than the body are headings (pypdf reports each run's font and size
    as it extracts, so this costs no second pass)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    runs: list[list[tuple[str, float, bool]]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: dict | None, size: float) -> None:
        if text.strip():
            scale = abs(tm[3] * cm[3]) or abs(tm[0] * cm[0]) or 1.0
            name = str((font or {}).get("/BaseFont", ""))
            runs[-1].append((text, round(float(size) * scale, 1), "bold" in name.lower() or "black" in name.lower()))

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
        texts = []
        for page in reader.pages:
            runs.append([])
            texts.append((page.extract_text(visitor_text=visit) or "").strip())
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
    return "\n\n".join(parts), str(title), starts, _pdf_headings(texts, starts, runs), warnings


def _pdf_headings(
    texts: list[str], starts: list[int], runs: list[list[tuple[str, float, bool]]]
) -> list[tuple[int, int, int]]:
    """Lines whose every run is in a heading style (larger than the body's size, or bold at it),
    levelled by size, largest first."""
    sizes: Counter[float] = Counter()
    for page in runs:
        for text, size, _ in page:
            sizes[size] += len(text)
    if not sizes:
        return []
    body = sizes.most_common(1)[0][0]
    styles: dict[str, tuple[float, bool]] = {}
    for page in runs:
        for text, size, bold in page:
            if size >= body * 1.12 or (bold and size >= body * 0.95):
                for line in text.splitlines():
                    if key := " ".join(line.split()):
                        styles.setdefault(key, (size, bold))
            else:
                for line in text.splitlines():
                    styles[" ".join(line.split())] = (0.0, False)  # the same words in body type: no heading
    ranks = sorted({v for v in styles.values() if v[0]}, key=lambda v: (-v[0], not v[1]))
    out = []
    for text, start in zip(texts, starts, strict=True):
        for m in re.finditer(r"[^\n]+", text):
            style = styles.get(" ".join(m.group().split()))
            if style and style[0] and len(m.group().split()) <= 20:
                out.append((start + m.start(), start + m.end(), ranks.index(style) + 1))
    return out


def _docx(source: str, data: bytes) -> tuple[str, str, list[tuple[int, int, int]], list[str]]:
    """Paragraphs (and table cells) in order, one per block; "Title" and "Heading N" styles are headings."""
    from docx import Document as Docx

    try:
        doc = Docx(io.BytesIO(data))
    except Exception as exc:  # python-docx raises many kinds on a bad zip
        raise DocumentError(source, f"corrupt Word file ({type(exc).__name__})") from exc
    blocks = [" ".join(p.text.split()) for p in doc.paragraphs]
    levels = [_docx_level(p.style.name if p.style is not None else "") for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            blocks.append(" | ".join(" ".join(c.text.split()) for c in row.cells))
            levels.append(0)
    title = doc.core_properties.title or next(
        (
            " ".join(p.text.split())
            for p in doc.paragraphs
            if p.style is not None and p.style.name.startswith("Heading")
        ),
        "",
    )
    kept = [(b, lvl) for b, lvl in zip(blocks, levels, strict=True) if b]
    text, headings = _joined([b for b, _ in kept], [lvl for _, lvl in kept])
    return text, title, headings, []


def _docx_level(style: str) -> int:
    if style == "Title":
        return 1
    m = re.fullmatch(r"Heading (\d)", style)
    return int(m.group(1)) + 1 if m else 0
