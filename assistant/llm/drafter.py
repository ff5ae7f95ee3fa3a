"""The LLM drafter and rewriter: any OpenAI-compatible chat server, through llama-index's OpenAILike.

It only drafts (and rewrites follow-ups into standalone questions); the draft stage (assistant.answering.draft)
decides what of a draft reaches the user, and a rewrite only adds a query. Every
failure (unreachable, HTTP error, timeout, a reply that isn't a chat completion)
becomes one `LlmError` with a one-line reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from assistant.config import LlmSettings
from assistant.prompts import REWRITE_PROMPT, REWRITE_TEMPLATE, SOURCE_LINE, SOURCES_TEMPLATE, SYSTEM_PROMPT
from index.errors import Error
from index.search import Hit
from index.text import short

OnToken = Callable[[str], None]
OnStage = Callable[[str], None]  # hears how answering goes: "writing" (the draft), then "checking" (its citations)


@dataclass(frozen=True)
class Draft:
    """A draft and, if it was stopped before the model finished, why ("cut at 512 tokens")."""

    text: str
    cut: str = ""


class Drafter(Protocol):
    """Writes a draft answer citing numbered sources `[n]` (the hits, in order); raises `LlmError` on failure.
    A plain string is a draft the model finished."""

    def draft(self, question: str, hits: Sequence[Hit], on_token: OnToken | None = None) -> str | Draft: ...


class Rewriter(Protocol):
    """Turns a follow-up and the conversation so far ((question, answer) pairs, oldest first)
    into a question that stands on its own; raises `LlmError` on failure."""

    def rewrite(self, history: Sequence[tuple[str, str]], question: str) -> str: ...


class LlmError(Error):
    """The LLM could not give a draft; the engine answers extractively instead."""


class Cancelled(Exception):
    """Raised by an `on_token` whose asker gave up: the stream is closed and nothing more is drafted."""


def sources_text(hits: Sequence[Hit]) -> str:
    return "\n\n".join(
        SOURCE_LINE.format(n=i, source=h.chunk.source, text=" ".join(h.chunk.text.split()))
        for i, h in enumerate(hits, 1)
    )


class OpenAILikeDrafter:
    """Drafts a cited answer from numbered sources on an OpenAI-compatible server; loads the client on first use."""

    def __init__(self, settings: LlmSettings):
        if not settings.base_url:
            raise ValueError("an LLM drafter needs ASSISTANT_LLM_BASE_URL")
        self.settings = settings

    @cached_property
    def client(self) -> Any:
        return self._client(max_tokens=self.settings.max_tokens)

    def _client(self, max_tokens: int) -> Any:
        from llama_index.llms.openai_like import OpenAILike

        return OpenAILike(
            model=self.settings.model,
            api_base=self.settings.base_url,
            api_key=self.settings.api_key or "not-needed",  # local servers ignore it; the client requires one
            timeout=self.settings.timeout,
            max_retries=0,  # a failure falls back at once rather than after minutes of retries
            is_chat_model=True,
            temperature=0.0,
            context_window=8192,
            max_tokens=max_tokens,  # a model that loops is stopped (and says so) instead of filling its context
        )

    def draft(self, question: str, hits: Sequence[Hit], on_token: OnToken | None = None) -> Draft:
        """The model's answer text with its [n] markers; streams tokens to `on_token` if given.
        At most `max_tokens`; a stream that starts repeating itself is stopped there."""
        from llama_index.core.llms import ChatMessage

        messages = [
            ChatMessage(role="system", content=SYSTEM_PROMPT),
            ChatMessage(role="user", content=SOURCES_TEMPLATE.format(sources=sources_text(hits), question=question)),
        ]
        cut = ""
        try:
            if on_token is None:
                response = self.client.chat(messages)
                text = response.message.content
                finish = _finish_reason(response.raw)
            else:
                parts: list[str] = []
                finish = None
                for chunk in self.client.stream_chat(messages):
                    finish = _finish_reason(chunk.raw) or finish
                    if chunk.delta:
                        parts.append(chunk.delta)
                        on_token(chunk.delta)
                        if repeating("".join(parts)):
                            cut = "stopped: the draft was repeating itself"
                            break
                text = "".join(parts)
        except Cancelled:
            raise  # leaving the loop closes the stream: the server stops writing to nobody
        except Exception as exc:  # every client failure means "no draft"
            raise LlmError(_reason(exc)) from exc
        if not isinstance(text, str) or not text.strip():
            raise LlmError("the LLM returned an empty answer")
        if not cut and finish == "length":
            cut = f"cut at {self.settings.max_tokens} tokens (ASSISTANT_LLM_MAX_TOKENS)"
        return Draft(text, cut)

    def rewrite(self, history: Sequence[tuple[str, str]], question: str) -> str:
        """The follow-up as a standalone question, one line."""
        from llama_index.core.llms import ChatMessage

        turns = "\n".join(f"User: {q}\nAssistant: {short(a, REWRITE_ANSWER_CHARS)}" for q, a in history[-3:])
        messages = [
            ChatMessage(role="system", content=REWRITE_PROMPT),
            ChatMessage(role="user", content=REWRITE_TEMPLATE.format(conversation=turns, question=question)),
        ]
        try:
            text = self.rewriter_client.chat(messages).message.content
        except Exception as exc:
            raise LlmError(_reason(exc)) from exc
        return str(text or "").strip()

    @cached_property
    def rewriter_client(self) -> Any:
        """The same server with a short answer limit: a question is a line."""
        return self._client(max_tokens=REWRITE_MAX_TOKENS)


REPEAT_WINDOW = 60  # characters; a draft whose last this-many characters already appeared twice before is looping
REWRITE_ANSWER_CHARS = 300  # of each earlier answer shown to the rewriter
REWRITE_MAX_TOKENS = 64


def repeating(text: str, window: int = REPEAT_WINDOW) -> bool:
    """The text's tail has occurred at least twice before: a model stuck in a loop."""
    if len(text) < window * 3:
        return False
    tail = text[-window:]
    return text.count(tail) >= 3


def _finish_reason(raw: Any) -> str | None:
    """`finish_reason` of the first choice of a raw OpenAI response or stream chunk, if any."""
    try:
        choices = raw["choices"] if isinstance(raw, dict) else raw.choices
        choice = choices[0]
        return choice["finish_reason"] if isinstance(choice, dict) else choice.finish_reason
    except (AttributeError, IndexError, KeyError, TypeError):
        return None


def _reason(exc: Exception) -> str:
    """One line saying what went wrong, without the client's stack of wrappers."""
    name = type(exc).__name__
    if "Timeout" in name:
        return "the LLM server did not answer in time"
    if "Connection" in name:
        return "cannot reach the LLM server"
    status = getattr(exc, "status_code", None)
    if status:
        return f"the LLM server answered HTTP {status}"
    text = " ".join(str(exc).split())
    return f"unusable reply from the LLM server ({name}: {text[:160]})"
