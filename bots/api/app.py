"""The ASGI app of `assistant serve` (FastAPI): the answer JSON at POST /v1/ask, OpenAI-compatible
chat at POST /v1/chat/completions (with `citations` beside `choices`), the text around a citation,
and liveness and readiness; its OpenAPI schema at /openapi.json. Answers run on a pool of
`ASSISTANT_WORKERS` threads, off the event loop; every failure is a JSON `{"error": "..."}` with
its status, never a traceback. A document is read only through `Engine.document` (names the
index holds, inside the space's folder), and a conversation id is the caller's own."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, TypeVar

from fastapi import FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from assistant.answering.question import question_problem
from assistant.conversation.resolve import Turn
from assistant.conversation.session import Session
from assistant.engine import Engine
from assistant.prompts import MAX_QUESTION_CHARS
from assistant.types import Answer
from bots import access, version
from bots.api.guard import Guard, rates
from bots.api.schema import STREAMS, AnswerOut, ChatOut, DocumentOut, ModelsOut, StatusOut, errors
from bots.api.tokens import user_of
from bots.api.tools import DEFAULT_SPACE
from bots.api.tools import build as build_mcp
from bots.settings import ServeSettings
from bots.state import State
from index.contained import NoSuchDocument
from index.errors import Error, one_line

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_BODY = 64 * 1024  # bytes; a question is at most 2,000 characters, a chat history a few turns
HISTORY = 8  # earlier user messages of a chat request re-asked to rebuild its conversation
WINDOW = 400  # characters shown either side of a citation by /v1/documents
_SENTENCE_END = re.compile(r"(?<=\])\s+")  # an answer's sentences end with their [n] markers


class Failure(Exception):
    """An answer to a request that isn't a success: its status and one line saying why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class AskBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"question": "Who is Daryl Gates?"}]})
    # Checked by question_problem (its own messages); documented here so clients and fuzzers know.
    question: str = Field(json_schema_extra={"minLength": 1, "maxLength": MAX_QUESTION_CHARS, "pattern": "[A-Za-z0-9]"})
    k: int | None = Field(None, ge=1, le=100)
    spaces: list[str] | None = None
    conversation: str | None = Field(None, min_length=1, max_length=128)  # the caller's own id (state store column)


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]  # OpenAI's roles
    content: str | list[dict[str, Any]] | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, list):  # OpenAI's content parts: keep the text ones
            return " ".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatBody(BaseModel):
    model_config = ConfigDict(  # temperature, top_p…: accepted, not used
        extra="ignore",
        json_schema_extra={"examples": [{"messages": [{"role": "user", "content": "Who is Daryl Gates?"}]}]},
    )
    model: str = "assistant"
    messages: list[Message] = Field(min_length=1)
    stream: bool = False


def create_app(
    engine: Engine, state: State, serve: ServeSettings, tokens: dict[str, str], host: str = "127.0.0.1"
) -> FastAPI:
    """The app, with the MCP server at /mcp; `app.state.ready` is set by whoever synced the index
    (`bots.api.server`), or `app.state.broken` to why it couldn't be."""
    mcp: Any = None

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with mcp.session_manager.run():  # the SDK's streamable-HTTP sessions
            yield

    app = FastAPI(
        title="Cited-answer assistant",
        version=version(),
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.add_middleware(Guard, max_body=MAX_BODY, limits=rates(serve.rate_limit, bool(tokens)), tokens=tokens)
    bearer = [Security(HTTPBearer(auto_error=False))]  # documents the scheme; `caller` checks the token
    app.state.ready = False
    app.state.broken = ""
    pool = ThreadPoolExecutor(max_workers=serve.workers, thread_name_prefix="api")

    async def off_loop(work: Callable[[], T]) -> T:
        """Run `work` on the answer pool; an engine failure is a 503 with its reason."""
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, work)
        except (Failure, NoSuchDocument):
            raise
        except Error as exc:
            raise Failure(503, str(exc)) from exc
        except Exception as exc:
            log.exception("answering failed")
            raise Failure(503, f"couldn't answer: {one_line(exc)}") from exc

    def caller(request: Request | None) -> tuple[str, list[str] | None]:
        """Who is asking and the spaces they may see (None: the one folder, no spaces file)."""
        header = request.headers.get("authorization") if request is not None else None
        user = user_of(tokens, header) if tokens else ""
        if user is None:
            raise Failure(401, "missing or unknown bearer token (Authorization: Bearer TOKEN)")
        if not engine.named:
            return user, None
        names = [s.name for s in engine.spaces]
        return user, access.visible_to_api_user(engine.spaces, user) if tokens else names

    def chosen(visible: list[str] | None, asked: list[str] | None) -> list[str] | None:
        if asked is None:
            return visible
        allowed = visible if visible is not None else [DEFAULT_SPACE]
        for name in asked:
            if name not in allowed:
                raise Failure(404, f"no space named {name!r} that you may see (yours: {', '.join(allowed) or 'none'})")
        return asked if visible is not None else None

    def ready() -> None:
        if app.state.broken:
            raise Failure(503, app.state.broken)
        if not app.state.ready:
            raise Failure(503, "the index is still syncing; try again in a moment")

    @app.middleware("http")
    async def mcp_tokens(request: Request, call_next: Any) -> Any:
        if request.url.path.startswith("/mcp"):
            try:
                caller(request)  # the SDK's handler doesn't know our tokens: they are checked here
            except Failure as exc:
                return _error(exc.status, exc.message)
        return await call_next(request)

    @app.exception_handler(Failure)
    async def failure(_: Request, exc: Failure) -> JSONResponse:
        return _error(exc.status, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        if first.get("type") == "json_invalid":
            return _error(400, "the body is not valid JSON")
        if first.get("loc") == ("body",):
            return _error(400, "the body must be a JSON object (Content-Type: application/json)")
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return _error(400, f"{where or 'body'}: {first.get('msg', 'invalid')}")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 404 and request.url.path.startswith("/v1/documents/"):
            return _error(404, str(NoSuchDocument()))  # a name the route can't match (a newline): the same reply
        if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
            return _error(400, "the body is not UTF-8")
        if exc.status_code == 400 and isinstance(exc.__cause__, RecursionError):
            return _error(400, "the body is nested too deeply")
        return _error(exc.status_code, str(exc.detail))

    @app.get("/healthz", response_model=StatusOut)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", response_model=StatusOut, responses=errors(503))
    async def readyz() -> dict[str, str]:
        ready()
        try:
            await off_loop(lambda: state.version)
        except Failure as exc:
            raise Failure(503, f"the state store is unreachable: {exc.message}") from exc
        return {"status": "ready"}

    @app.post(
        "/v1/ask",
        dependencies=bearer,
        responses={200: {"model": AnswerOut, "content": STREAMS}, **errors(401, 404, 503)},
    )
    async def ask(body: AskBody, request: Request) -> Any:
        user, visible = caller(request)
        spaces = chosen(visible, body.spaces)
        if problem := question_problem(body.question):
            raise Failure(400, problem)
        ready()
        # The caller's own: another caller's id with the same text is a different conversation.
        key = conversation_key(user, body.conversation) if body.conversation else None

        def work() -> Answer:
            stored = state.conversation(*key) if key else None
            session = Session(engine, spaces)
            session.conversation.turns = [Turn.from_json(t) for t in stored[1]] if stored else []
            turn = session.ask(body.question, k=body.k)
            if key:
                state.finish("", conversation=key, spaces=spaces, turn=turn.to_json())
            return turn.answer

        answer = await off_loop(work)
        out = {**answer.to_json(), **({"conversation": body.conversation} if body.conversation else {})}
        if "text/event-stream" in request.headers.get("accept", ""):
            return _sse(_ask_events(answer, out))
        return out

    @app.post(
        "/v1/chat/completions",
        dependencies=bearer,
        responses={200: {"model": ChatOut, "content": STREAMS}, **errors(401, 503)},
    )
    async def chat(body: ChatBody, request: Request) -> Any:
        _, visible = caller(request)
        last = body.messages[-1]
        if last.role != "user":
            raise Failure(400, "the last message must be the user's question (role 'user')")
        if problem := question_problem(last.text):
            raise Failure(400, problem)
        ready()
        earlier = [m.text for m in body.messages[:-1] if m.role == "user" and m.text.strip()][-HISTORY:]

        def work() -> Answer:
            # The conversation is rebuilt by asking its earlier questions again, in order: the
            # follow-up is then resolved exactly as in a chat that saw them.
            session = Session(engine, visible)
            for question in earlier:
                session.ask(question)
            return session.ask(last.text).answer

        answer = await off_loop(work)
        made = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": body.model}
        extra = _extras(answer)
        if body.stream:
            return _sse(_chat_chunks(answer, made, extra), done=True)
        choice = {"index": 0, "message": {"role": "assistant", "content": answer.text}, "finish_reason": "stop"}
        usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}  # no tokens are counted
        return {**made, "object": "chat.completion", "choices": [choice], "usage": usage, **extra}

    @app.get("/v1/models", dependencies=bearer, response_model=ModelsOut, responses=errors(401))
    async def models(request: Request) -> dict[str, Any]:
        _, visible = caller(request)
        names = visible if visible is not None else [DEFAULT_SPACE]
        data = [{"id": n, "object": "model", "created": 0, "owned_by": "cited-assistant"} for n in names]
        return {"object": "list", "data": data}

    @app.get(
        "/v1/documents/{space}/{path:path}",
        dependencies=bearer,
        response_model=DocumentOut,
        responses=errors(401, 404, 503),
    )
    async def document(space: str, path: str, request: Request, start: int = 0, end: int | None = None) -> Any:
        """The text around `start:end` of a document the caller may see; one 404 for anything else."""
        user, visible = caller(request)
        try:
            if space not in (visible if visible is not None else [DEFAULT_SPACE]):
                raise NoSuchDocument()  # the same reply as for a missing file
            text = await off_loop(lambda: engine.document(path, space if engine.named else None))
        except NoSuchDocument as exc:
            log.info("refused a document read: user %r, space %r, path %r", user, space[:100], path[:300])
            raise Failure(404, str(exc)) from exc
        end = len(text) if end is None else end
        if not 0 <= start <= end <= len(text):
            raise Failure(400, f"start and end must satisfy 0 <= start <= end <= {len(text)}")
        lo, hi = max(0, start - WINDOW), min(len(text), end + WINDOW)
        return {
            "space": space,
            "source": path,
            "start": start,
            "end": end,
            "quote": text[start:end],
            "before": text[lo:start],
            "after": text[end:hi],
        }

    mcp = build_mcp(engine, caller, off_loop, host=host)
    app.router.routes.extend(mcp.streamable_http_app().routes)  # POST/GET /mcp
    app.state.mcp = mcp
    return app


def conversation_key(user: str, conversation: str) -> tuple[str, str]:
    """Where a conversation of the API is stored: under its caller (the token's user; "" for the
    local user without tokens), so an id names nothing of anyone else's."""
    return f"api:{user}", conversation


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _extras(answer: Answer) -> dict[str, Any]:
    """What OpenAI's shape has no room for, beside `choices`: citations (exact offsets), abstention."""
    data = answer.to_json()
    return {k: data[k] for k in ("citations", "abstained", "mode", "related", "query", "dropped") if k in data}


def _sentences(text: str) -> list[str]:
    parts = [p for p in _SENTENCE_END.split(text) if p]
    return [p + (" " if i < len(parts) - 1 else "") for i, p in enumerate(parts)]


def _ask_events(answer: Answer, whole: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for sentence in _sentences(answer.text):
        yield "sentence", {"text": sentence}
    yield "answer", whole


def _chat_chunks(answer: Answer, made: dict[str, Any], extra: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """OpenAI's chunks: the role, the answer a sentence at a time, then the end with the citations."""
    base = {**made, "object": "chat.completion.chunk"}
    yield "", {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}
    for sentence in _sentences(answer.text):
        yield "", {**base, "choices": [{"index": 0, "delta": {"content": sentence}, "finish_reason": None}]}
    yield "", {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], **extra}


def _sse(events: Iterator[tuple[str, dict[str, Any]]], done: bool = False) -> StreamingResponse:
    def lines() -> Iterator[str]:
        for name, data in events:
            yield (f"event: {name}\n" if name else "") + f"data: {json.dumps(data, ensure_ascii=False)}\n\n"
        if done:
            yield "data: [DONE]\n\n"

    return StreamingResponse(lines(), media_type="text/event-stream")
