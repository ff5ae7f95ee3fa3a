"""The MCP server (the official `mcp` SDK's FastMCP): tools `ask` and `search` and the documents
as resources (`assistant://SPACE/PATH`), for agents and editors, over stdio (`assistant mcp`)
or streamable HTTP at /mcp of `assistant serve`. A caller sees the spaces its bearer token's
user may see, as on the HTTP API."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import quote, unquote

from mcp.server.fastmcp import Context, FastMCP
from mcp.server.fastmcp.exceptions import ResourceError
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import CallToolResult, Resource, TextContent
from pydantic import AnyUrl

from assistant.engine import Engine
from assistant.spaces import split_source
from bots import version
from index.contained import NoSuchDocument

log = logging.getLogger(__name__)

# Who is calling, from the HTTP request of a tool call (None over stdio): (user, visible spaces).
Caller = Callable[[Any], tuple[str, list[str] | None]]
OffLoop = Callable[[Callable[[], Any]], Awaitable[Any]]


ASK = """Answer a question from the documents: the answer text with [n] markers and, as
structured content, its citations (source, space, start, end, exact quote)."""
SEARCH = "The passages closest to `query`, each with its source, space and exact offsets."
SCHEME = "assistant"
DEFAULT_SPACE = "default"  # the one folder's name (resource URIs, /v1/models, /v1/documents) without a spaces file


class DocumentServer(FastMCP):
    """FastMCP whose resources are the documents the caller may see, `assistant://SPACE/PATH`,
    listed and read per caller (the SDK's own resources are the same for everybody)."""

    def __init__(self, engine: Engine, caller: Caller, off_loop: OffLoop, **options: Any):
        super().__init__(**options)
        self._mcp_server.version = version()  # FastMCP takes no version: serverInfo would name the SDK's
        self.engine, self.caller, self.off_loop = engine, caller, off_loop

    def visible(self) -> list[str] | None:
        ctx = self.get_context()
        request = getattr(ctx.request_context, "request", None) if ctx.request_context else None
        return self.caller(request)[1]

    async def list_resources(self) -> list[Resource]:
        spaces = self.visible()
        docs = await self.off_loop(lambda: self.engine.documents(spaces))
        return [Resource(uri=AnyUrl(_uri(space, source)), name=source, mimeType="text/plain") for space, source in docs]

    async def read_resource(self, uri: AnyUrl | str) -> Iterable[ReadResourceContents]:
        text = str(uri)
        prefix = f"{SCHEME}://"
        space, _, source = text[len(prefix) :].partition("/") if text.startswith(prefix) else ("", "", "")
        spaces = self.visible()
        known = spaces if spaces is not None else [DEFAULT_SPACE]
        name = space if self.engine.named else None
        try:
            if not source or space not in known:
                raise NoSuchDocument()
            body = await self.off_loop(lambda: self.engine.document(unquote(source, errors="strict"), name))
        except (NoSuchDocument, UnicodeDecodeError):
            log.info("refused an MCP resource read: %r", text[:300])
            # One reply, whatever the reason: it tells nobody which files exist.
            raise ResourceError("no such document that you may see") from None
        return [ReadResourceContents(content=body, mime_type="text/plain")]


def _uri(space: str, source: str) -> str:
    return f"{SCHEME}://{space or DEFAULT_SPACE}/{quote(source)}"


def build(engine: Engine, caller: Caller, off_loop: OffLoop, *, host: str = "127.0.0.1") -> FastMCP:
    """The MCP server over `engine`; `off_loop` runs answering on the answer pool."""
    local = host in ("127.0.0.1", "localhost", "::1")
    # On loopback the SDK's DNS-rebinding guard stays on; elsewhere bearer tokens guard /mcp.
    security = None if local else TransportSecuritySettings(enable_dns_rebinding_protection=False)
    server = DocumentServer(
        engine,
        caller,
        off_loop,
        name="cited-assistant",
        instructions="Answers from the team's documents, quoting them with exact character offsets; "
        "says so when the documents don't cover a question.",
        host=host,
        streamable_http_path="/mcp",
        stateless_http=True,  # any replica can take any call
        transport_security=security,
    )

    def visible(ctx: Context) -> list[str] | None:
        request = getattr(ctx.request_context, "request", None) if ctx.request_context else None
        return caller(request)[1]

    @server.tool(description=ASK)
    async def ask(question: str, ctx: Context, spaces: list[str] | None = None) -> CallToolResult:
        """The `ask` tool (ASK says what it does, as the client shows it)."""
        allowed = visible(ctx)
        wanted = allowed if spaces is None else [s for s in spaces if allowed is None or s in allowed]
        answer = await off_loop(lambda: engine.answer(question, spaces=wanted))
        data = answer.to_json()
        structured = {k: data[k] for k in ("answer", "abstained", "citations", "related", "error") if k in data}
        text = data.get("answer") or data.get("error", "")
        return CallToolResult(
            content=[TextContent(type="text", text=text)],
            structuredContent=structured,
            isError=bool(answer.error),  # an empty or too long question is the caller's error
        )

    @server.tool(description=SEARCH)
    async def search(query: str, ctx: Context, k: int = 5) -> CallToolResult:
        """The `search` tool (SEARCH says what it does)."""
        allowed = visible(ctx)
        hits = await off_loop(lambda: engine.search([query], max(1, min(k, 50)), allowed))
        passages = []
        for h in hits:
            space, source = split_source(h.chunk.source, engine.named)
            place = {"source": source, "space": space, "start": h.chunk.start, "end": h.chunk.end}
            passages.append({**place, "text": h.chunk.text, "score": round(h.score, 4)})
        lines = [f"{p['source']}:{p['start']}-{p['end']}: {p['text']}" for p in passages]
        return CallToolResult(
            content=[TextContent(type="text", text="\n\n".join(lines) or "nothing found")],
            structuredContent={"passages": passages},
        )

    return server
