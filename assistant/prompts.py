"""Fixed phrases and prompts, in one place so they can be read and changed together."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from index.text import WORD, content_words

NOT_COVERED = "The documents don't cover this question, so I can't answer it from them."
EMPTY_QUESTION = "Ask a question about the documents."
NO_SPACE = "No documents are shared here, so I can't answer questions in this place."
MAX_QUESTION_CHARS = 2000  # longer input is not a question but a pasted document
# An abstention on a question the documents touch but don't answer; {mentioned} is what they do mention.
MENTION_NOT_KIND = "The documents mention {mentioned} but don't say {wh}."
MENTION_NOT_NAMES = "The documents mention {mentioned} but say nothing about {missing}."
RELATED_HEADING = "Related passages (they don't answer the question):"
RELATED_NOT_ANSWER = "The documents have passages related to this question, but none of them answers it."

# The LLM must say exactly this when the sources don't answer; the engine turns it into an abstention.
REFUSAL = "The sources do not answer this question."

SYSTEM_PROMPT = f"""You answer questions using only the numbered sources you are given.
Rules:
- Every sentence of your answer must end with the number of the source that supports it, like [1], or [1][3] for several.
- Use only facts stated in the sources. Do not add facts, numbers or names that are not in them.
- Cite only source numbers that exist.
- If the sources do not answer the question, reply with exactly: {REFUSAL}
- Be brief: at most four sentences."""

SOURCES_TEMPLATE = """Sources:
{sources}

Question: {question}"""

SOURCE_LINE = "[{n}] ({source}) {text}"

# Follow-ups, as llama-index's condense-question engine does it: the model writes the
# standalone question; retrieval uses it beside the rule-based resolution.
REWRITE_PROMPT = """Rewrite the user's last message as one standalone question that can be understood without the conversation.
Replace pronouns and "what about ..." with the names they refer to. Keep the user's wording otherwise.
Reply with the question only, on one line."""

REWRITE_TEMPLATE = """Conversation:
{conversation}

Last message: {question}

Standalone question:"""


class Asked(Protocol):
    """What `missing` reads of a question (`answering.question.Ask`)."""

    @property
    def question(self) -> str: ...
    @property
    def wh(self) -> str: ...
    @property
    def names(self) -> tuple[str, ...]: ...


class Lacking(Protocol):
    """What `missing` reads of a verdict (`answering.decide.Verdict`)."""

    @property
    def missing_names(self) -> tuple[str, ...]: ...
    @property
    def missing_kind(self) -> str: ...


def missing(ask: Asked, verdict: Lacking, related: str) -> str:
    """The abstention text for a near miss: what the documents mention, and what they don't say."""
    seen = {w.lower() for w in WORD.findall(related)}
    mentioned = [n for n in ask.names if n.lower() in seen and n not in verdict.missing_names]
    if not mentioned:
        lacking = {n.lower() for n in verdict.missing_names}
        mentioned = list(dict.fromkeys(w for w in content_words(ask.question) if w in seen and w not in lacking))[:3]
    if not mentioned:
        return RELATED_NOT_ANSWER
    phrase = _join(_runs(ask.question, mentioned))
    if verdict.missing_kind and ask.wh:
        return MENTION_NOT_KIND.format(mentioned=phrase, wh=ask.wh.lower())
    if verdict.missing_names:
        return MENTION_NOT_NAMES.format(mentioned=phrase, missing=_join(_runs(ask.question, verdict.missing_names)))
    return RELATED_NOT_ANSWER


def _runs(question: str, words: Sequence[str]) -> list[str]:
    """`words` as the question writes them, adjacent ones joined ("Charlie Beck", not "Charlie", "Beck")."""
    wanted = {w.lower() for w in words}
    runs: list[list[str]] = []
    last_end = -2
    for m in WORD.finditer(question):
        if m.group(0).lower() in wanted:
            if runs and question[last_end : m.start()].strip() == "":
                runs[-1].append(m.group(0))
            else:
                runs.append([m.group(0)])
            last_end = m.end()
    return list(dict.fromkeys(" ".join(r) for r in runs))


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
