"""Stage 1, the question: what it asks for (the kind of answer its form expects, its names,
focus words, whose words), and whether it can be asked at all.

Pure string work, no models: "how many" wants a number, "when" a date or time, "who" a
person or organisation. Selecting and deciding test evidence against this, so "How long
has X been chief?" is not answered by a sentence about X that gives no length of time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.prompts import MAX_QUESTION_CHARS
from index.text import STOPWORDS, WORD, content_words, stem

# Checked in order: the first pattern found (anywhere in the question) sets the kind.
_KINDS: list[tuple[str, re.Pattern[str]]] = [
    (
        "duration",
        re.compile(r"\bhow (?:long|old|often|far|frequently|soon)\b", re.I),
    ),
    (
        "number",
        re.compile(
            r"\bhow (?:many|much|large|big|high|tall|deep|wide|fast)\b"
            r"|\bwhat (?:number|percentage|percent|proportion|share|fraction|amount|size|population|total)\b",
            re.I,
        ),
    ),
    (
        "date",
        re.compile(
            r"\bwhen\b|\b(?:what|which|in what|in which) (?:year|years|date|day|month|century|decade|era|time|period|age)\b",
            re.I,
        ),
    ),
    (
        "place",
        re.compile(
            r"\bwhere\b|\b(?:what|which|in what|in which) (?:country|countries|city|cities|state|region|place|area|"
            r"town|province|continent|island|county|location)\b",
            re.I,
        ),
    ),
    (
        "person",
        re.compile(r"\bwho(?:m|se)?\b|\bby whom\b|\bwhat (?:person|people|group|organi[sz]ation|company)\b", re.I),
    ),
    ("reason", re.compile(r"\bwhy\b|\bfor what reason\b", re.I)),
    ("method", re.compile(r"\bhow\b", re.I)),
    ("yesno", re.compile(r"^\s*(?:is|are|was|were|do|does|did|can|could|will|would|has|have|had|should)\b", re.I)),
]
# "who is X?" / "what was X?": a question about one named thing, answered by any sentence naming it.
_ABOUT = re.compile(
    r"^\s*(?:who|what)\s+(?:is|was|are|were)\s+(?:the\s+|a\s+|an\s+)?(?P<subject>[^?]+?)\s*\??\s*$", re.I
)
# "what did X say about Y", "according to X", "X's view on Y": a question about someone's words.
_SAY = (
    r"say|said|tell|told|think|claim|state|announce|add|mean|argue|report|write|promise|warn|believe|"
    r"respond|react|comment|explain"
)
_SPEAKER = [
    re.compile(r"\bwhat (?:did|does|do|has|have|had|will|would) (?P<who>.+?) (?:" + _SAY + r")\w*\b", re.I),
    re.compile(r"\bhow (?:did|does|do|has|have) (?P<who>.+?) (?:respond|react|comment|explain)\w*\b", re.I),
    re.compile(r"\baccording to (?P<who>[^,?]+)", re.I),
    re.compile(
        r"\b(?:what (?:is|was|are|were) )?(?P<who>[\w .'’-]+?)['’]s? (?:view|position|stance|opinion|comments?|statement|words|response|quote)\b",
        re.I,
    ),
]
_WHOSE = re.compile(r"^(?P<who>.+?)['’]s?\s+(?:name|full name|title|job|role|position|rank)$", re.I)
_NOBODY = frozenset("you it this that they them people who whom what which documents the documents".split())
_NUMBER_WORDS = (
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
    "eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred hundreds thousand thousands "
    "million millions billion billions trillion dozen dozens half quarter twice thrice several percent"
).split()
_NUMBER = re.compile(r"\d|\b(?:" + "|".join(_NUMBER_WORDS) + r")\b", re.I)
_MONTHS = "january february march april may june july august september october november december"
_DAYS = "monday tuesday wednesday thursday friday saturday sunday"
_DATE = re.compile(
    r"(?<![\d,.])\b[1-9]\d{2,3}s?\b(?![,.]\d)|\b\d+(?:st|nd|rd|th)?[\s-]+(?:century|centuries|millennium)\b"
    r"|\b(?:" + "|".join((_MONTHS + " " + _DAYS).split()) + r")\b|\b\d{1,2}(?::\d\d)?\s?(?:a\.m|p\.m|am|pm)\b"
    r"|\b(?:centuries|decades?|today|yesterday|tomorrow|ago|\w+ties|\d+s)\b",
    re.I,
)
_DURATION = re.compile(
    r"\b(?:years?|months?|weeks?|days?|hours?|minutes?|seconds?|decades?|centuries|century|daily|weekly|monthly|"
    r"yearly|annually|always|never|since|until|miles?|kilometers?|kilometres?|km|feet|meters?|metres?)\b",
    re.I,
)
_REASON = re.compile(r"\b(?:because|since|due to|so that|in order to|as a result|reason|led to|caused?|to)\b", re.I)


@dataclass(frozen=True)
class Ask:
    """What `question` wants: `kind` of answer, the `names` (capitalised words, numbers) it is
    about, its stemmed `focus` words, and the `subject` of a "who/what is X" question."""

    question: str
    kind: str
    wh: str  # the asking phrase as written, e.g. "How long", "Who"
    names: tuple[str, ...]
    focus: tuple[str, ...]
    subject: str | None = None
    speaker: str | None = None  # whose words are asked for ("the Sheriff's Department")


@dataclass(frozen=True)
class Question:
    """A question as asked (`text`), as the engine reads it (`ask`: a follow-up written out), and
    why it can't be asked ("" if it can)."""

    text: str
    ask: Ask
    problem: str = ""


def read(question: str, understood: str | None = None) -> Question:
    """The question stage: `question` as asked, read as `understood` when a conversation wrote it out."""
    text = question.strip()
    problem = question_problem(text)
    # Not read at all when it can't be asked (a pasted document is no question to parse).
    return Question(text, ask_of("" if problem else understood or text), problem)


def question_problem(question: str) -> str:
    """Why `question` can't be asked ("" if it can): empty, too long, or with control characters."""
    if not question.strip():
        return "the question is empty"
    if len(question) > MAX_QUESTION_CHARS:
        return f"the question is too long ({len(question):,} characters; at most {MAX_QUESTION_CHARS:,})"
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in question):
        return "the question contains control characters (a NUL byte?)"
    if not any(ch.isalnum() for ch in question):
        return "the question has no words"
    return ""


def ask_of(question: str) -> Ask:
    """Read the question's form; no model involved."""
    kind, wh = "other", ""
    for name, pattern in _KINDS:
        m = pattern.search(question)
        if m:
            kind, wh = name, m.group(0)
            break
    about = _ABOUT.match(question)
    subject = None
    if about:
        # "What is Capt. Jeff Scroggin's name?" asks about him, like "Who is Capt. Jeff Scroggin?"
        whose = _WHOSE.match(about.group("subject"))
        text = (whose.group("who") if whose else about.group("subject")).strip()
        if len(text.split()) <= 3:
            subject, kind = text, "about"
    return Ask(
        question,
        kind,
        wh,
        tuple(names_of(question)),
        tuple(dict.fromkeys(stem(content_words(question)))),
        subject,
        speaker_of(question),
    )


def speaker_of(question: str) -> str | None:
    """Whose words the question asks for, if it asks for someone's words."""
    for pattern in _SPEAKER:
        m = pattern.search(question)
        if m:
            who = re.sub(r"^(?:the|a|an)\s+", "", m.group("who").strip(), flags=re.I)
            if who and who.lower() not in _NOBODY:
                return who
    return None


def names_of(text: str) -> list[str]:
    """Capitalised words (not opening the text) and numbers: the details a question is specific about."""
    out = []
    for m in WORD.finditer(text):
        w = m.group(0)
        if w.lower() in STOPWORDS:
            continue
        first = not text[: m.start()].strip()
        if w[:1].isdigit() or (w[:1].isupper() and not first):
            out.append(w)
    return list(dict.fromkeys(out))


def holds_kind(kind: str, text: str, question: str) -> bool:
    """`text` contains an answer of `kind` that the question itself doesn't already state."""
    asked = {w.lower() for w in WORD.findall(question)}

    def new(pattern: re.Pattern[str]) -> bool:
        return any(m.group(0).lower() not in asked for m in pattern.finditer(text))

    if kind == "number":
        return new(_NUMBER)
    if kind == "duration":
        return new(_NUMBER) or new(_DURATION)
    if kind == "date":
        return new(_DATE)
    if kind in ("person", "place"):
        return any(w.lower() not in asked for w in names_of(text))
    if kind == "reason":
        return bool(_REASON.search(text))
    return True


WANTED = {
    "number": "a number",
    "duration": "a length of time",
    "date": "a date or time",
    "place": "a place",
    "person": "who",
    "reason": "a reason",
}


_SCAFFOLD = re.compile(
    r"\b(?:what|how|did|does|do|has|have|had|will|would|according to|the|a|an|about|on|of|regarding)\b|['’]s?\b",
    re.I,
)


def topic_of(ask: Ask) -> str:
    """What a question about someone's words is about, without the someone: "What did Chief
    Beck say about working with Homeland Security?" gives "working with Homeland Security"."""
    if not ask.speaker:
        return ""
    rest = ask.question.replace(ask.speaker, " ")
    rest = re.sub(r"\b(?:" + _SAY + r")\w*\b", " ", rest, flags=re.I)
    rest = _SCAFFOLD.sub(" ", rest)
    return " ".join(rest.replace("?", " ").split())
