"""Conversation: resolve a follow-up question against earlier turns before retrieval.

Without an LLM, a follow-up is recognised by its words (a pronoun such as "he" or
"that order", or an ellipsis such as "what else?") and resolved by carrying the
earlier question's names and terms into the query. A question that brings its own
subject and no pointer back is a new topic and carries nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.types import Answer
from index.text import STOPWORDS, words

_PERSONAL = r"he|him|his|she|her|hers|himself|herself"
_OTHER = r"they|them|their|theirs|it|its|this|that|these|those|there|then"
_PERSONAL_RE = re.compile(rf"\b({_PERSONAL})\b", re.I)
_POINTER_RE = re.compile(rf"\b({_PERSONAL}|{_OTHER})\b", re.I)
# "that" after these words starts a clause ("say that ..."), not a pointer back.
_CLAUSE_THAT = re.compile(r"\b(say|said|says|think|know|mean|believe|so|such|than|now)\s+that\b", re.I)
_ELLIPSIS = re.compile(
    r"^\s*(and\b|but\b|also\b|what else|anything else|who else|where else|what more|more\b|tell me more|go on|"
    r"why\b\W*$|how so|really|what about|how about|and then|then what|same for|what of)",
    re.I,
)
_MORE = re.compile(r"\b(else|more|another|other)\b", re.I)
_ABOUT = re.compile(r"^\s*(what|how)\s+about\b", re.I)
_QUESTION_WORDS = frozenset(
    "what who whom whose when where why how which did does do is are was were can could would should will and"
    " but tell give list show i in on at for from the a an of to".split()
)
_TITLES = frozenset(
    "chief mayor president capt captain mr mrs ms dr prof officer sheriff governor senator judge king queen duke general sir lord".split()
)
_ENTITY = re.compile(r"[A-Z][\w’'.-]*(?:\s+(?:of\s+|the\s+|de\s+)?[A-Z][\w’'.-]*)*")
# Words a follow-up uses to point back or to ask, on top of the stopwords: never carried as terms.
FOLLOW_UP_WORDS = frozenset("say said says tell done else anything yes get got".split())
_NOT_TERMS = STOPWORDS | FOLLOW_UP_WORDS


@dataclass(frozen=True)
class Resolved:
    """What to retrieve for a question: the query, what it carried over, and what not to repeat."""

    question: str
    query: str
    carried: tuple[str, ...] = ()
    exclude: frozenset[tuple[str, int, int]] = frozenset()

    @property
    def follow_up(self) -> bool:
        return bool(self.carried)


@dataclass(frozen=True)
class Turn:
    """One question of a conversation: how it was resolved, and its answer."""

    resolved: Resolved
    answer: Answer


@dataclass
class Conversation:
    """Earlier turns, newest last; `resolve` reads them, `add` records one, `reset` forgets."""

    turns: list[Turn] = field(default_factory=list)

    def resolve(self, question: str) -> Resolved:
        return resolve(question, self.turns)

    def add(self, turn: Turn) -> None:
        self.turns.append(turn)

    def reset(self) -> None:
        self.turns.clear()


def resolve(question: str, turns: list[Turn]) -> Resolved:
    """Resolve `question` against `turns`; a new topic comes back unchanged."""
    question = question.strip()
    if not turns or not is_follow_up(question):
        return Resolved(question, question)
    previous = turns[-1].resolved
    context = previous.query  # already resolved, so chains of follow-ups keep their subject
    names = entities(context)
    if _ABOUT.match(question) and entities(question):
        # "What about the sheriff?": a new subject in the old question's frame.
        carried = [t for t in terms(context) if not any(t in n.lower() for n in names)]
    elif _PERSONAL_RE.search(question) and not _MORE.search(question):
        people = [n for n in names if n.split()[0].lower().rstrip(".") in _TITLES]
        carried = people or names
    else:
        carried = names + [t for t in terms(context) if not any(t in n.lower() for n in names)]
    carried = [c for c in dict.fromkeys(carried) if c.lower() not in question.lower()]
    if not carried:
        return Resolved(question, question)
    exclude: frozenset[tuple[str, int, int]] = frozenset()
    if _MORE.search(question):
        # "What else?": don't quote again what the previous answers already said.
        exclude = frozenset((c.source, c.start, c.end) for t in turns for c in t.answer.citations)
    return Resolved(question, f"{question} {' '.join(carried)}", tuple(carried), exclude)


def is_follow_up(question: str) -> bool:
    """The question points back (a pronoun, "that order") or leaves its subject out ("what else?")."""
    if _ELLIPSIS.match(question):
        return True
    stripped = _CLAUSE_THAT.sub(" ", question)
    if _POINTER_RE.search(stripped):
        return True
    return len(terms(question)) <= 1 and not entities(question)


def entities(text: str) -> list[str]:
    """Capitalised names in `text` ("Chief Beck", "Homeland Security"), question words trimmed."""
    out = []
    for m in _ENTITY.finditer(text):
        words = m.group().split()
        while words and words[0].lower().strip("’'") in _QUESTION_WORDS:
            words = words[1:]
        if words:
            out.append(" ".join(words).rstrip(".?!,"))
    return [e for e in dict.fromkeys(out) if e]


def terms(text: str) -> list[str]:
    """Content words of `text`, lowercased, in order."""
    return list(dict.fromkeys(w for w in words(text) if w not in _NOT_TERMS and len(w) > 2 and w[0].isalpha()))
