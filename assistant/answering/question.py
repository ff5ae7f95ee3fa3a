"""Stage 1, the question: what it asks for (the kind of answer its form expects, its names,
focus words, whose words), and whether it can be asked at all.

Pure string work, no models: "how many" wants a number, "when" a date or time, "who" a
person or organisation. Selecting and deciding test evidence against this, so "How long
has X been chief?" is not answered by a sentence about X that gives no length of time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
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
    spoke_for: str | None = None  # "Who spoke for X?": the organisation whose spokesperson is asked for


@dataclass(frozen=True)
class Question:
    """A question as asked (`text`), as the engine reads it (`ask`: a follow-up written out, a
    form's label and scaffolding left out), what to search with (`query`), and why it can't be
    asked ("" if it can)."""

    text: str
    ask: Ask
    problem: str = ""
    query: str = ""


def read(question: str, understood: str | None = None) -> Question:
    """The question stage: `question` as asked, read as `understood` when a conversation wrote it out."""
    text = question.strip()
    problem = question_problem(text)
    # Not read at all when it can't be asked (a pasted document is no question to parse).
    asked = "" if problem else reword(understood or text)
    return Question(text, ask_of(asked), problem, asked or text)


# Form-like questions, read for what they ask (see `reword`). A form's own labels name no topic;
# any other label does ("Ticketmaster: Does the website...") and stays.
FORM_LABELS = frozenset(
    "details detail question questions query context note notes category categories topic task instructions "
    "instruction request description summary subject re background clause type field".split()
)
_LABEL = re.compile(r"(?:^|(?<=\s))(?P<label>[A-Za-z]{1,15}(?: [A-Za-z]{1,15})?):\s+(?=\S)")
_QUOTED = re.compile(r"[\"“](?P<q>[^\"”]{2,60})[\"”]")
_IMPERATIVE = re.compile(
    r"^\s*(?:please\s+)?(?:highlight|find|list|show(?:\s+me)?|identify|locate|extract|give(?:\s+me)?|quote)\s+"
    r"(?:(?:all|any|every|each|the)\s+)*(?:(?:parts?|sections?|clauses?|passages?|provisions?|sentences?|"
    r"paragraphs?|language|text|terms?|places?)\s+)?(?:\(if any\)\s+)?"
    r"(?:(?:of|in|from)\s+(?:this|the)\s+\w+\s+)?(?:that\s+(?:is|are)\s+)?"
    r"(?:(?:related|relating|relevant|pertaining|referring)\s+to|about|on|regarding|concerning|that\s+mentions?)\s+",
    re.I,
)
_REVIEW = re.compile(
    r"\s*,?\s*(?:that|which)\s+(?:should|must|may|might|need\s+to)\s+be\s+\w+\s+by\s+(?:a|an|the)\s+\w+", re.I
)
# Words that only name where to look: "under the service agreement", "in this handbook".
_DOCUMENT = re.compile(
    r"\s*,?\s*\b(?:under|in|of|from|within|per|according\s+to|as\s+(?:set\s+out|stated|described)\s+in)\s+"
    r"(?:the|this|our|these|that|my|your)\s+(?:[\w-]+\s+){0,2}?"
    r"(?:agreement|contract|handbook|policy|policies|document|documents|manual|guide|guidelines|file|files|"
    r"rulebook|terms(?:\s+and\s+conditions)?|docs|text)\b",
    re.I,
)


def _category(quoted: str) -> str:
    """A quoted category ("Governing Law", "NOTICE PERIOD") in lower case: its words are topics, not names."""
    return quoted.lower() if quoted.isupper() or quoted.istitle() else quoted


def reword(question: str) -> str:
    """A form-like question as the question it asks: without a form's labels ("Details:"), its
    quoted categories lowercased ("Governing Law": a category, not a name), "highlight the parts
    related to X" as X, and without the words that only name the documents ("under the
    agreement"). A plain question comes back unchanged."""
    text = " ".join(question.split())
    text = _LABEL.sub(lambda m: "" if m.group("label").lower() in FORM_LABELS else m.group(0), text)
    text = _IMPERATIVE.sub("", text, count=1)
    text = _REVIEW.sub("", text)
    text = _QUOTED.sub(lambda m: _category(m.group("q")), text)
    shorter = _DOCUMENT.sub("", text)
    if content_words(shorter):
        text = shorter
    text = text.strip(" ,;")
    return text if content_words(text) else " ".join(question.split())


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
        tuple(names_of(question, asked=True)),
        tuple(dict.fromkeys(stem(content_words(question)))),
        subject,
        speaker_of(question),
        spoke_for(question),
    )


_SPOKE_FOR = re.compile(
    r"\bwho\s+(?:(?:spoke|speaks|talked|talks|commented|was\s+speaking|is\s+speaking)|"
    r"(?:was|is|were|are)\s+(?:the\s+|a\s+)?(?:spokes(?:man|woman|person|people)|representative|voice))\s+"
    r"(?:for|on\s+behalf\s+of|of)\s+(?:the\s+)?(?P<org>[^?]+)",
    re.I,
)
# "X, a spokesman for Y", "said Y spokeswoman X", "speaking for Y": a sentence naming who spoke for Y.
SPOKESPERSON = re.compile(
    r"\b(?:spokes(?:man|woman|person)|representative|press\s+(?:officer|secretary)|speaking\s+(?:for|on\s+behalf\s+of)|"
    r"on\s+behalf\s+of)\b",
    re.I,
)


def spoke_for(question: str) -> str | None:
    """The organisation of "Who spoke for X?" / "Who was the spokesman for X?", if asked so."""
    m = _SPOKE_FOR.search(question)
    return m.group("org").strip(" .") if m else None


def speaker_of(question: str) -> str | None:
    """Whose words the question asks for, if it asks for someone's words."""
    for pattern in _SPEAKER:
        m = pattern.search(question)
        if m:
            who = re.sub(r"^(?:the|a|an)\s+", "", m.group("who").strip(), flags=re.I)
            if who and who.lower() not in _NOBODY:
                return who
    return None


_OPENS = re.compile(r"(?:^|[.!?][\"'”’)\]]*)\s*$")  # nothing, or a sentence's end: a capital here is no name


def names_of(text: str, asked: bool = False) -> list[str]:
    """Capitalised words (not opening the text) and numbers: the details a text is specific
    about. In a question (`asked`), a word opening any of its sentences is no name either
    ("Anyway, can I file online?"), unless it is an acronym."""
    out = []
    for m in WORD.finditer(text):
        w = m.group(0)
        if w.lower() in STOPWORDS:
            continue
        if asked:
            first = bool(_OPENS.search(text, max(0, m.start() - 8), m.start())) and not (w.isupper() and len(w) > 1)
        else:
            first = not text[: m.start()].strip()
        if w[:1].isdigit() or (w[:1].isupper() and not first):
            out.append(w)
    return list(dict.fromkeys(out))


_PIECES = re.compile(r"[A-Za-z]+")


def spelled_out(names: Sequence[str], text: str) -> list[str]:
    """The words of `text` that spell out an abbreviation among `names` ("MFA": "Multi-factor
    authentication"), first found of each; an abbreviation written in `text` itself needs none."""
    wanted = [n for n in names if 3 <= len(n) <= 6 and n.isalpha() and n.isupper()]
    if not wanted:
        return []  # most questions: nothing to look up, so the retrieved text isn't scanned
    out = []
    pieces = [(m.group(0), m.start(), m.end()) for m in _PIECES.finditer(text)]
    initials = "".join(p[0][0].lower() for p in pieces)
    present = set(WORD.findall(text))
    for name in wanted:
        if name in present:
            continue
        at = initials.find(name.lower())
        while at >= 0:
            run = pieces[at : at + len(name)]
            phrase = text[run[0][1] : run[-1][2]]
            # One phrase: its pieces joined by spaces or hyphens only, and not all of them stopwords.
            if re.fullmatch(r"[A-Za-z]+(?:[ -][A-Za-z]+)*", phrase) and content_words(phrase):
                out.append(phrase)
                break
            at = initials.find(name.lower(), at + 1)
    return out


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
