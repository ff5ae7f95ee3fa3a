"""Block Kit rendering of an `Answer`: pure functions, safe for anything a document says.

Every piece of document or user text goes through `escape`, so a document containing
"<!channel>" or "<@U123>" shows those characters instead of pinging anyone.
"""

from __future__ import annotations

import re

from assistant.links import Linker
from assistant.prompts import RELATED_HEADING
from assistant.types import Answer, Citation
from index.text import short

SECTION_LIMIT = 3000  # characters in one section's text
BLOCK_LIMIT = 50  # blocks in one message
QUOTE_CHARS = 200  # shown per source
SOURCE_LINES = 40  # sources listed under one answer (room is left for the answer and its notes)
FALLBACK_LIMIT = 3000  # the plain `text` shown in notifications
TOO_LONG = "_… the answer is longer than one Slack message; ask a narrower question._"
STREAM_PIECE = 80  # characters per streamed piece, at least
STREAM_CALLS = 20  # streamed pieces per answer, at most
STREAM_LIMIT = 12_000  # characters Slack takes in one streaming call
ASK_HINT = "Ask me a question about the documents, e.g. “what is the leave policy?”"
NOT_IN_DOCUMENTS = ":mag: *Not in the documents.* I couldn't find this in the indexed documents, so I won't guess."


def escape(text: str) -> str:
    """mrkdwn escaping: with `&`, `<`, `>` escaped no mention, link or broadcast can form."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def answer_message(
    answer: Answer, feedback_value: str, link: Linker | None = None, *, context_actions: bool = False
) -> tuple[str, list[dict]]:
    """The fallback `text` and the `blocks` of a reply: answer sections, sources (each linked to
    its page with a link template), feedback buttons (in a context actions block where asked)."""
    fallback, body = answer_body(answer)
    tail = answer_tail(answer, feedback_value, link, context_actions=context_actions)
    room = BLOCK_LIMIT - len(tail)
    if len(body) > room:
        body = [
            *body[: room - 1],
            _section(TOO_LONG),
        ]
    return fallback, body + tail


def answer_body(answer: Answer) -> tuple[str, list[dict]]:
    """The fallback text and the answer's own sections (no sources, no buttons)."""
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
    return fallback, body


def answer_tail(
    answer: Answer, feedback_value: str, link: Linker | None = None, *, context_actions: bool = False
) -> list[dict]:
    """What follows the answer: its sources (or related passages), notes, and feedback buttons."""
    tail = [] if answer.error else related_blocks(answer, link) if answer.abstained else sources_blocks(answer, link)
    tail += notes_blocks(answer)
    tail.append(feedback_actions(feedback_value) if context_actions else feedback_block(feedback_value))
    return tail


def answer_markdown(answer: Answer) -> str:
    """The answer's text in Markdown, for a natively streamed reply (document text escaped as in mrkdwn,
    so nothing in it can ping anyone)."""
    if answer.error:
        return f"❔ {escape(answer.error)}. {ASK_HINT}"
    if answer.abstained and answer.related:
        return f"🔍 **Not answered by the documents.** {escape(answer.text)}"
    if answer.abstained:
        return "🔍 **Not in the documents.** I couldn't find this in the indexed documents, so I won't guess."
    return re.sub(r"\[(\d+)\]", r"**[\1]**", escape(answer.text))


def stream_pieces(markdown: str) -> list[str]:
    """The Markdown cut into pieces to stream (at sentence ends or spaces): small enough to read
    as it arrives, few enough (at most STREAM_CALLS) to stay well inside Slack's rate limits."""
    if len(markdown) > STREAM_LIMIT:  # as in answer_message: one message's worth, and say so
        markdown = split(markdown, STREAM_LIMIT - len(TOO_LONG) - 2)[0] + "\n\n" + TOO_LONG
    # `split` cuts at a sentence end past half the size, so pieces of this size come at most STREAM_CALLS.
    size = max(STREAM_PIECE, -(-2 * len(markdown) // STREAM_CALLS))
    parts = split(markdown, size)
    return [p + " " for p in parts[:-1]] + parts[-1:]


def where(c: Citation, link: Linker | None = None) -> str:
    """A citation's file and offsets in mrkdwn: code-styled, or a link to its page."""
    place = escape(c.location.replace("`", "'")) + (f", page {c.page}" if c.page else "")
    if c.section:
        place = escape(c.titled.replace("`", "'")) + f" ({place})"
    url = link(c) if link else None
    if url:
        # `|` and `>` would end Slack's <url|text>; a URL never needs them unescaped.
        return f"<{url.replace('|', '%7C').replace('>', '%3E').replace('<', '%3C')}|{place}>"
    return f"`{place}`"


def _code(text: str) -> str:
    """`text` code-styled in mrkdwn (a backtick in it can't end the span)."""
    return "`" + escape(text.replace("`", "'")) + "`"


def sources_blocks(answer: Answer, link: Linker | None = None) -> list[dict]:
    """A divider and one context line per citation: number, file and offsets (linked), short quote."""
    blocks: list[dict] = [{"type": "divider"}]
    shown = answer.citations[:SOURCE_LINES]
    for c in shown:
        line = f"*[{c.n}]* {where(c, link)} “{escape(short(c.quote, QUOTE_CHARS))}”"
        if c.also:
            line += " (also in " + ", ".join(_code(p.location) for p in c.also) + ")"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": short(line, SECTION_LIMIT)}]})
    if len(answer.citations) > len(shown):
        blocks.append(_context(f"_… and {len(answer.citations) - len(shown)} more sources._"))
    return blocks


def related_blocks(answer: Answer, link: Linker | None = None) -> list[dict]:
    """An abstention's related passages: a heading that says they don't answer, then one line each."""
    if not answer.related:
        return []
    blocks: list[dict] = [{"type": "divider"}, _context(f"_{escape(RELATED_HEADING)}_")]
    for c in answer.related[:SOURCE_LINES]:
        blocks.append(_context(f"• {where(c, link)} “{escape(short(c.quote, QUOTE_CHARS))}”"))
    return blocks


def _context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": short(text, SECTION_LIMIT)}]}


def notes_blocks(answer: Answer) -> list[dict]:
    """What the reader should know about how the answer was made: LLM trouble, sentences left out."""
    notes = []
    if answer.llm_error:
        notes.append(f":warning: LLM: {escape(answer.llm_error)}; answered with quotes.")
    if answer.dropped:
        # Counted, not repeated: a channel skims, and an unsupported claim should not be posted at all.
        n = len(answer.dropped)
        what = "sentence of the draft" if n == 1 else "sentences of the draft"
        notes.append(f":scissors: Left out {n} {what} that the sources don't support.")
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


def feedback_actions(value: str) -> dict:
    """Slack's own feedback buttons for AI replies, in a context actions block under the message."""

    def button(text: str, verdict: str, label: str) -> dict:
        return {
            "text": {"type": "plain_text", "text": text},
            "value": f"{verdict}:{value}",
            "accessibility_label": label,
        }

    return {
        "type": "context_actions",
        "block_id": "feedback",
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": "feedback",
                "positive_button": button("Helpful", "up", "This answer was helpful"),
                "negative_button": button("Not helpful", "down", "This answer was not helpful"),
            }
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
