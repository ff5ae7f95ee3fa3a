"""Conversation: resolve a follow-up question against earlier turns before retrieval.

Without an LLM, a follow-up is recognised by its words (a pronoun such as "he" or
"that order", or an ellipsis such as "what else?") and resolved by carrying the
earlier question's names and terms into the query. A question that brings its own
subject and no pointer back is a new topic and carries nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from assistant.answering.question import speaker_of
from assistant.types import Answer
from index.text import STOPWORDS, WORD, words

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
_ABOUT_X = re.compile(r"^\s*(?:(?:what|how)\s+about|and(?:\s+what\s+about)?|same\s+for|what\s+of)\s+(?P<x>.+)$", re.I)
_QUESTION_WORDS = frozenset(
    "what who whom whose when where why how which did does do is are was were can could would should will and"
    " but tell give list show i in on at for from the a an of to has have had according".split()
)
_TITLES = frozenset(
    "chief mayor president capt captain mr mrs ms dr prof officer sheriff governor senator judge king queen duke general sir lord".split()
)
_ENTITY = re.compile(r"[A-Z][\w’'.-]*(?:\s+(?:of\s+|the\s+|de\s+)?[A-Z][\w’'.-]*)*")
_ORGANISATION = frozenset(
    "department police county city state institute university security office agency council court board "
    "committee company association union party government ministry service times news".split()
)
_PREPOSITION = r"(?:in|at|on|for|from|of|to|by|with|about|during|under|over)"
_ASKING = frozenset(
    "what who whom whose when where why how which did does do is are was were can could would will".split()
)
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
    # The follow-up as a question of its own, where the rules can write one ("What did the
    # sheriff say about …?", "What is Capt. Jeff Scroggin's name?"); answering reads it.
    standalone: str = ""
    rewrite: str = ""  # the LLM's standalone version, when one was asked for and accepted

    @property
    def understood(self) -> str:
        """The question as the engine should read it."""
        return self.standalone or self.rewrite or self.question

    @property
    def follow_up(self) -> bool:
        return bool(self.carried)


@dataclass(frozen=True)
class Turn:
    """One question of a conversation: how it was resolved, and its answer."""

    resolved: Resolved
    answer: Answer

    def to_json(self) -> dict[str, Any]:
        """The turn as JSON, so a conversation can be kept outside the process (a bot's state store)."""
        r = self.resolved
        resolved: dict[str, Any] = {"question": r.question, "query": r.query, "carried": list(r.carried)}
        resolved |= {"exclude": sorted(r.exclude), "standalone": r.standalone, "rewrite": r.rewrite}
        return {"resolved": resolved, "answer": self.answer.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Turn:
        r = data["resolved"]
        resolved = Resolved(
            r["question"],
            r["query"],
            tuple(r.get("carried", ())),
            frozenset((s, int(a), int(b)) for s, a, b in r.get("exclude", ())),
            r.get("standalone", ""),
            r.get("rewrite", ""),
        )
        return cls(resolved, Answer.from_json(data["answer"]))


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
    frame = topic_question(turns)
    names = list(dict.fromkeys(entities(context) + entities(previous.understood)))
    about = _ABOUT_X.match(question)
    subject = about.group("x").strip(" ?.!") if about else ""
    if subject and len(subject.split()) <= 5 and subject.split()[0].lower() not in _ASKING:
        swapped = _swap_subject(question, subject, frame)
        if speaker_of(frame) or entities(frame):
            return swapped  # a named subject swapped: a sentence may well name both
        # A topic replaced ("sick pay" by "parental leave"): what was quoted on the old one, and
        # doesn't name the new one, answers nothing now.
        new = set(terms(subject))
        said = frozenset((c.path, c.start, c.end) for c in turns[-1].answer.citations if not new & set(terms(c.quote)))
        return replace(swapped, exclude=said)
    exclude: frozenset[tuple[str, int, int]] = frozenset()
    if _MORE.search(question):
        # "What else?": don't quote again what the previous answers already said.
        exclude = frozenset((c.path, c.start, c.end) for t in turns for c in t.answer.citations)
    standalone = ""
    if _PERSONAL_RE.search(question):
        # "his" is the person the last answer was about: named in its question, or else in what it quoted.
        quoted = " ".join(c.quote for c in turns[-1].answer.citations)
        found = people(names) or people(entities(quoted))
        carried = found or names
        if found:
            standalone = _PERSONAL_RE.sub(lambda m: _name_for(m.group(0), found[0]), question)
            carried = [found[0]]
    elif _MORE.search(question) and (len(terms(question)) >= 2 or entities(question)):
        carried = []  # "What else has the LAPD moved away from?" brings its own subject
    else:
        carried = names + [t for t in terms(context) if not any(t in n.lower() for n in names)]
        if len(terms(question)) <= 1 and not entities(question):
            standalone = f"{question} {frame}"  # "According to whom?", "Why?": asked of the topic question
    carried = [c for c in dict.fromkeys(carried) if c.lower() not in question.lower()]
    if not carried and not exclude:
        return Resolved(question, question)
    # A question written out in full is the better query; "What else?" keeps its carried words.
    query = standalone if standalone and not standalone.startswith(question + " ") else " ".join([question, *carried])
    return Resolved(question, query, tuple(carried), exclude, standalone)


def topic_question(turns: list[Turn]) -> str:
    """The question the conversation is on: the last one written out in full, by its asker or
    by the resolution (so "And in the whole country?" after "Who says so?" reaches back)."""
    for turn in reversed(turns):
        r = turn.resolved
        asked_of_topic = r.standalone.startswith(r.question + " ")  # "Who says so? <topic>"
        if not r.carried or ((r.standalone or r.rewrite) and not asked_of_topic):
            return r.understood
    return turns[-1].resolved.understood


def _swap_subject(question: str, new: str, frame: str) -> Resolved:
    """ "What about the sheriff?": the previous question with its subject (whose words it asked
    for, or else its first name) replaced by the new one; "and in France?" brings its own
    preposition."""
    old = speaker_of(frame) or next(iter(entities(frame)), "")
    lead = r"(?:" + _PREPOSITION + r"\s+)?" if re.match(_PREPOSITION + r"\s", new, re.I) else ""
    if not old:
        old = topic_run(frame)  # "sick pay" in "How many days of sick pay do I get?"
    if old and old in frame:
        pattern = r"\b" + lead + r"(?:the\s+)?" + re.escape(old)
        standalone = re.sub(pattern, lambda _: new, frame, count=1, flags=re.I)
    else:
        standalone = f"{frame.rstrip(' ?.!')}, for {new}?"
    old_words = {w.lower() for w in WORD.findall(old)}
    carried = [t for t in terms(frame) if t not in old_words and t not in terms(new)]
    return Resolved(question, standalone, tuple([new, *carried]), frozenset(), standalone)


_MEASURE = re.compile(r"\b(?:how\s+(?:many|much|long|often)|what|which)\s+(\w+)", re.I)


def topic_run(question: str) -> str:
    """What a question with no name is about: its longest run of content words ("sick pay"),
    not the thing it counts ("days" in "How many days...") nor its verbs of asking."""
    measured = {m.group(1).lower() for m in _MEASURE.finditer(question)}
    runs: list[list[str]] = [[]]
    for w in WORD.findall(question):
        low = w.lower()
        if low in _NOT_TERMS or low in _ASKING or low in measured or not w[0].isalpha():
            runs.append([])
        else:
            runs[-1].append(w)
    best = max(runs, key=len)  # the first of the longest
    return " ".join(best) if best else ""


def people(names: list[str]) -> list[str]:
    """The names that are people: a title first ("Capt. Jeff Scroggin", "Chief Beck"), or two or
    three capitalised words that aren't an organisation ("Daryl Gates")."""
    out = []
    for n in names:
        words = [w.lower().removesuffix("'s") for w in n.replace("’", "'").split()]
        if any(w in _ORGANISATION for w in words):
            continue
        if words[0].rstrip(".") in _TITLES or 2 <= len(words) <= 3:
            out.append(n)
    return out


def _name_for(pronoun: str, name: str) -> str:
    """The pronoun's place taken by the name: "his" → "Capt. Jeff Scroggin's"."""
    possessive = pronoun.lower() in ("his", "her", "hers")
    return name + "'s" if possessive else name


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
            out.append(re.sub(r"['’]s$", "", " ".join(words).rstrip(".?!,")))
    return [e for e in dict.fromkeys(out) if e]


def terms(text: str) -> list[str]:
    """Content words of `text`, lowercased, in order."""
    return list(dict.fromkeys(w for w in words(text) if w not in _NOT_TERMS and len(w) > 2 and w[0].isalpha()))
