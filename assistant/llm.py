"""The LLM drafter: any OpenAI-compatible chat server, through llama-index's OpenAILike.

It only drafts; assistant.verify decides what of the draft reaches the user. Every
failure (unreachable, HTTP error, timeout, a reply that isn't a chat completion)
becomes one `LlmError` with a one-line reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any, Protocol

from assistant.config import LlmSettings
from assistant.prompts import SOURCE_LINE, SOURCES_TEMPLATE, SYSTEM_PROMPT
from index.errors import Error
from index.search import Hit

OnToken = Callable[[str], None]


class Drafter(Protocol):
    """Writes a draft answer citing numbered sources `[n]` (the hits, in order); raises `LlmError` on failure."""

    def draft(self, question: str, hits: Sequence[Hit], on_token: OnToken | None = None) -> str: ...


class LlmError(Error):
    """The LLM could not give a draft; the engine answers extractively instead."""


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
        )

    def draft(self, question: str, hits: Sequence[Hit], on_token: OnToken | None = None) -> str:
        """The model's answer text with its [n] markers; streams tokens to `on_token` if given."""
        from llama_index.core.llms import ChatMessage

        messages = [
            ChatMessage(role="system", content=SYSTEM_PROMPT),
            ChatMessage(role="user", content=SOURCES_TEMPLATE.format(sources=sources_text(hits), question=question)),
        ]
        try:
            if on_token is None:
                text = self.client.chat(messages).message.content
            else:
                parts = []
                for chunk in self.client.stream_chat(messages):
                    if chunk.delta:
                        parts.append(chunk.delta)
                        on_token(chunk.delta)
                text = "".join(parts)
        except Exception as exc:  # every client failure means "no draft"
            raise LlmError(_reason(exc)) from exc
        if not isinstance(text, str) or not text.strip():
            raise LlmError("the LLM returned an empty answer")
        return text


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
