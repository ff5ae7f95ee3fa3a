"""Links from a citation to where people read its source: a URL template per space.

`ASSISTANT_SOURCE_URL` (or a space's `source_url`) such as
`https://github.com/acme/handbook/blob/main/{source}` names the page of each file. For
web pages and Markdown a text fragment (`#:~:text=`) of the quote's first words makes a
browser scroll to the passage. Pure functions: each front end renders the link its way.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from pathlib import PurePosixPath
from urllib.parse import quote

from assistant.types import Citation

Linker = Callable[[Citation], "str | None"]  # a citation's URL, as the engine knows it (`Engine.link`)
PLACEHOLDERS = ("source", "source_stem", "page", "start", "end")
FRAGMENT_SUFFIXES = frozenset({".html", ".htm", ".md", ".markdown", ".mdx"})
FRAGMENT_WORDS = 6  # enough to find the passage, few enough to survive rendering differences
_MARKUP = re.compile(r"[*_`#>\[\]()|~]+")  # Markdown syntax, which a rendered page doesn't show


def problem(template: str) -> str:
    """What is wrong with a URL template ("" if nothing): it must be http(s) and use only known placeholders."""
    if not re.match(r"https?://", template):
        return "must start with http:// or https://"
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        return f"not a template: {exc}"
    unknown = [f for f in fields if f not in PLACEHOLDERS]
    if unknown:
        return f"unknown placeholder {{{unknown[0]}}} (use {', '.join('{' + p + '}' for p in PLACEHOLDERS)})"
    return ""


def link(template: str | None, citation: Citation) -> str | None:
    """The URL of `citation`'s source under `template`, with a text fragment for web pages; None without a template."""
    if not template:
        return None
    source = PurePosixPath(citation.source)
    url = template.format(
        source=quote(str(source), safe="/"),
        source_stem=quote(str(source.with_suffix("")), safe="/"),
        page=citation.page if citation.page is not None else "",
        start=citation.start,
        end=citation.end,
    )
    if source.suffix.lower() in FRAGMENT_SUFFIXES and "#" not in url:
        fragment = text_fragment(citation.quote)
        if fragment:
            url += "#:~:text=" + fragment
    return url


def text_fragment(quote_text: str) -> str:
    """The quote's first words, encoded for `#:~:text=` ('-', ',' and '&' are syntax there)."""
    words = _MARKUP.sub(" ", quote_text).split()[:FRAGMENT_WORDS]
    return quote(" ".join(words), safe="").replace("-", "%2D")
