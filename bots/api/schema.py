"""What `assistant serve` answers, as OpenAPI documents it (`/openapi.json`): the shapes of its
bodies and every status each operation may give. The app returns plain dicts; these models only
describe them, and the hostile suite (Schemathesis) checks every response against them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")  # extra fields are welcome; these never change meaning


class ErrorOut(BaseModel):
    error: str


class CitationOut(Open):
    n: int
    source: str
    start: int
    end: int
    quote: str
    score: float
    page: int | None = None
    section: str | None = Field(None, description='the headings above the quote: "9 Term and Termination › 9.4"')


class AnswerOut(Open):
    question: str
    abstained: bool
    citations: list[CitationOut]


class ChatOut(Open):
    id: str
    object: str
    choices: list[dict[str, Any]]
    citations: list[CitationOut]


class DocumentOut(BaseModel):
    space: str
    source: str
    start: int
    end: int
    quote: str
    before: str
    after: str


class ModelsOut(BaseModel):
    object: str
    data: list[dict[str, Any]]


class StatusOut(BaseModel):
    status: str


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error statuses an operation may answer, each a JSON `{"error": "..."}`; every operation
    may also be rate limited (429, with Retry-After) or refused a body (413) or headers (431) too large."""
    said = {
        400: "the request is malformed (one line says what)",
        401: "missing or unknown bearer token",
        404: "no such space or document that the caller may see",
        413: "the body is too large",
        431: "the request's headers are too large",
        429: "too many requests from this caller (Retry-After says when to try again)",
        503: "the index is syncing or unreachable, or answering failed",
    }
    return {s: {"model": ErrorOut, "description": said[s]} for s in sorted({*statuses, 400, 413, 429, 431})}


# The same answer as Server-Sent Events: each event a name (ask: sentence, answer) and JSON data.
EVENT = {
    "type": "object",
    "properties": {"event": {"type": "string"}, "data": {"type": "string"}},
    "required": ["data"],
}
STREAMS = {"text/event-stream": {"schema": EVENT}}
