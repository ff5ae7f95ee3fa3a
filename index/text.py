"""Text helpers every layer shares: words, stopwords, stemming, one-line previews.

One home, so BM25, the check of a generated sentence and the follow-up resolver agree
on what a word is.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

WORD = re.compile(r"\w+")
STOPWORDS = frozenset(
    "a an the of in on at to for from by with and or but nor is are was were be been being am do does did "
    "what which who whom whose when where why how that this these those it its as into onto than then there "
    "their they them he she his her him i me my you your we our us not no can could would should will shall "
    "may might must has have had about over under after before between during also if so such any some "
    "many much more most other one s".split()
)


def words(text: str) -> list[str]:
    """The lowercased words of `text`, in order."""
    return WORD.findall(text.lower())


def content_words(text: str) -> list[str]:
    """The lowercased words of `text` that are not stopwords, in order."""
    return [w for w in words(text) if w not in STOPWORDS]


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def stem(items: Iterable[str]) -> list[str]:
    """Snowball (Porter 2) stems of lowercased words."""
    return list(_stemmer().stemWords(list(items)))


def short(text: str, limit: int) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain(word: str) -> str:
    """Lowercase, without accents."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", word.lower()) if not unicodedata.combining(ch))


def idf(bags: Iterable[set[str]]) -> dict[str, float]:
    """Inverse document frequency of each word over `bags` (one set of words per sentence)."""
    bags = list(bags)
    df: dict[str, int] = {}
    for bag in bags:
        for w in bag:
            df[w] = df.get(w, 0) + 1
    n = len(bags)
    return {w: math.log((n + 1) / (c + 0.5)) for w, c in df.items()}


def idf_unseen(n: int) -> float:
    """IDF of a word none of `n` bags holds."""
    return math.log((n + 1) / 0.5)
