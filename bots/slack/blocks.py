"""Block Kit rendering of an `Answer`: pure functions, safe for anything a document says.

Every piece of document or user text goes through `escape`, so a document containing
"<!channel>" or "<@U123>" shows those characters instead of pinging anyone.
"""

from __future__ import annotations

import re

from assistant.prompts import RELATED_HEADING
from assistant.types import Answer
from index.text import short

SECTION_LIMIT = 3000  # characters in one section's text
BLOCK_LIMIT = 50  # blocks in one message
QUOTE_CHARS = 200  # shown per source
FALLBACK_LIMIT = 3000  # the plain `text` shown in notifications
ASK_HINT = "Ask me a question about the documents, e.g. “what is the leave policy?”"
NOT_IN_DOCUMENTS = ":mag: *Not in the documents.* I couldn't find this in the indexed documents, so I won't guess."


def escape(text: str) -> str:
    """mrkdwn escaping: with `&`, `<`, `>` escaped no mention, link or broadcast can form."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def answer_message(answer: Answer, feedback_value: str) -> tuple[str, list[dict]]:
    """The fallback `text` and the `blocks` of a reply: answer sections, sources, feedback buttons."""
    if answer.error:
        body = [_section(f":grey_question: {escape(answer.error)}. {ASK_HINT}")]
        fallback = f"{answer.error}. {ASK_HINT}"
    elif answer.abstained and answer.related:
        body = [_section(f":mag: *Not answered by the documents.* {escape(answer.text)}")]
        fallback = short(escape(answer.text), FALLBACK_LIMIT)
    elif answer.abstained:
        body = [_section(NOT_IN_DOCUMENTS)]
        fallback = "Not in the documents: I couldn't find this in the indexed documents."
    else:
        body = [_section(part) for part in split(escape(_bold_markers(answer.text)), SECTION_LIMIT)]
        fallback = short(escape(answer.text), FALLBACK_LIMIT)
    tail = [] if answer.error else related_blocks(answer) if answer.abstained else sources_blocks(answer)
    tail += notes_blocks(answer)
    tail.append(feedback_block(feedback_value))
    room = BLOCK_LIMIT - len(tail)
    if len(body) > room:
        body = [
            *body[: room - 1],
            _section("_… the answer is longer than one Slack message; ask a narrower question._"),
        ]
    return fallback, body + tail


def sources_blocks(answer: Answer) -> list[dict]:
    """A divider and one context line per citation: number, file and offsets, short quote."""
    blocks: list[dict] = [{"type": "divider"}]
    for c in answer.citations:
        where = escape(c.path.replace("`", "'")) + f":{c.start}-{c.end}" + (f", page {c.page}" if c.page else "")
        line = f"*[{c.n}]* `{where}` “{escape(short(c.quote, QUOTE_CHARS))}”"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": short(line, SECTION_LIMIT)}]})
    return blocks


def related_blocks(answer: Answer) -> list[dict]:
    """An abstention's related passages: a heading that says they don't answer, then one line each."""
    if not answer.related:
        return []
    blocks: list[dict] = [{"type": "divider"}, _context(f"_{escape(RELATED_HEADING)}_")]
    for c in answer.related:
        where = escape(c.path.replace("`", "'")) + f":{c.start}-{c.end}" + (f", page {c.page}" if c.page else "")
        blocks.append(_context(f"• `{where}` “{escape(short(c.quote, QUOTE_CHARS))}”"))
    return blocks


def _context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": short(text, SECTION_LIMIT)}]}


def notes_blocks(answer: Answer) -> list[dict]:
    """What the reader should know about how the answer was made: LLM trouble, sentences left out."""
    notes = []
    if answer.llm_error:
        notes.append(f":warning: LLM: {escape(answer.llm_error)}; answered with quotes.")
    if answer.dropped:
        left_out = " · ".join(escape(short(d, 200)) for d in answer.dropped[:5])
        notes.append(f":scissors: Left out, not supported by the sources: {left_out}")
    return [{"type": "context", "elements": [{"type": "mrkdwn", "text": short(n, SECTION_LIMIT)}]} for n in notes]


def draft_text(draft: str) -> str:
    """A streaming draft, shown while its citations are being checked."""
    return short(escape(draft), SECTION_LIMIT - 40) + " _(checking citations…)_"


def feedback_block(value: str) -> dict:
    return {
        "type": "actions",
        "block_id": "feedback",
        "elements": [
            {
                "type": "button",
                "action_id": "feedback_up",
                "value": value,
                "text": {"type": "plain_text", "text": "👍 Helpful", "emoji": True},
            },
            {
                "type": "button",
                "action_id": "feedback_down",
                "value": value,
                "text": {"type": "plain_text", "text": "👎 Not helpful", "emoji": True},
            },
        ],
    }


def split(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters, cut after a sentence, else at a space, else hard."""
    parts = []
    while len(text) > limit:
        window = text[:limit]
        cut = max(window.rfind(". "), window.rfind("] "))
        cut = cut + 1 if cut > limit // 2 else window.rfind(" ")
        if cut <= 0:
            amp = window.rfind("&", limit - 6)
            cut = amp if amp > 0 else limit  # never inside an "&amp;" escape
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return parts + ([text] if text else [])


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _bold_markers(text: str) -> str:
    return re.sub(r"\[(\d+)\]", r"*[\1]*", text)
