"""What every request to `assistant serve` passes before the app sees it: a rate limit per bearer
token (the `limits` library's moving window; by client address for requests without a valid
token) and a bound on the body, declared or streamed (the body is read here, at most `max_body`
bytes, then handed on). Liveness and readiness are never limited, so a flood can't hide whether
the server is up."""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from bots.api.tokens import bearer, user_of

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

UNLIMITED = ("/healthz", "/readyz")
MAX_HEAD = 16 * 1024  # bytes of request headers; h11 refuses a larger head that arrives in pieces, this one whole
OFF = ("", "off", "none", "0")


def rates(value: str | None, tokens: bool) -> list[RateLimitItem]:
    """The limits each caller gets: `value` in the `limits` notation (`60/minute`, `5/second;1000/hour`),
    or by default 60 a minute with tokens and none without (loopback only); `off` for none."""
    if value is None:
        value = "60/minute" if tokens else "off"
    return [] if value.strip().lower() in OFF else parse_many(value)


def caller_key(scope: Scope, tokens: dict[str, str]) -> str:
    """Whose allowance a request uses: its valid bearer token (hashed), else its client address."""
    header = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"authorization"), None)
    token = bearer(header)
    if tokens and token is not None and user_of(tokens, header) is not None:
        return "token:" + hashlib.sha256(token.encode()).hexdigest()[:32]
    client = scope.get("client") or ("unknown", 0)
    return f"address:{client[0]}"


class Guard:
    """ASGI middleware: 431 for headers over MAX_HEAD, 429 with Retry-After past the rate, 413 for
    a body over `max_body` bytes."""

    def __init__(self, app: App, *, max_body: int, limits: list[RateLimitItem], tokens: dict[str, str]):
        self.app, self.max_body, self.limits, self.tokens = app, max_body, limits, tokens
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers", ())
        if sum(len(k) + len(v) + 4 for k, v in headers) > MAX_HEAD:
            await _reply(send, 431, f"the request's headers are over {MAX_HEAD:,} bytes")
            return
        if self.limits and scope["path"] not in UNLIMITED:
            wait = self.over(caller_key(scope, self.tokens))
            if wait is not None:
                why = f"too many requests: at most {self.limits[0]} for this caller; retry in {wait} s"
                await _reply(send, 429, why, [(b"retry-after", str(wait).encode())])
                return
        length = dict(headers).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_body:
            await _reply(send, 413, f"the body is {int(length):,} bytes; at most {self.max_body:,}")
            return
        body = bytearray()
        while True:  # a chunked body has no length to check first: count it as it comes
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_body:
                await _reply(send, 413, f"the body is over {self.max_body:,} bytes")
                return
            if not message.get("more_body", False):
                break
        handed = False

        async def replay() -> Message:
            nonlocal handed
            if handed:
                return await receive()  # after the body: the disconnect, when it comes
            handed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    def over(self, key: str) -> int | None:
        """None if `key` may make this request (and it is counted), else the seconds to wait."""
        for item in self.limits:
            if not self.limiter.test(item, key):
                reset = self.limiter.get_window_stats(item, key).reset_time
                return max(1, math.ceil(reset - time.time()))
        for item in self.limits:
            self.limiter.hit(item, key)
        return None


async def _reply(send: Send, status: int, message: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"error": message}).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})
