"""A loopback stand-in for Slack's Web API: records every call, answers like Slack does.

Speaks the real protocol (form or JSON bodies, `{"ok": ...}` replies, 429 with
Retry-After) so the real slack-sdk client can be pointed at it. Also serves
`response_url`s under /respond/ and, optionally, a Socket Mode websocket URL.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from processes import EVENT_TIMEOUT, wait_for

BOT_USER = "UBOT"
BOT_ID = "BBOT"


class FakeSlack:
    def __init__(self):
        self.calls: list[tuple[str, dict]] = []
        self.failures: dict[str, list[tuple[int, dict]]] = {}  # method -> scripted (status, headers)
        self.refused: dict[str, str] = {}  # method -> the error Slack answers it with ({"ok": false})
        self.socket_url = "ws://127.0.0.1:9/"
        self._lock = threading.Lock()
        self._ts = 1700000000.0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if "json" in (self.headers.get("Content-Type") or ""):
                    params = json.loads(raw or "{}")
                else:
                    params = {k: v[0] for k, v in parse_qs(raw).items()}
                    for key in ("blocks", "attachments"):
                        if isinstance(params.get(key), str):
                            params[key] = json.loads(params[key])
                method = self.path.split("/api/", 1)[1] if "/api/" in self.path else self.path
                with fake._lock:
                    scripted = fake.failures.get(method)
                    failure = scripted.pop(0) if scripted else None
                record = {**params, "_status": failure[0] if failure else 200}
                if failure:
                    with fake._lock:
                        fake.calls.append((method, record))
                    status, headers = failure
                    self._send(status, {"ok": False, "error": "ratelimited"}, headers)
                    return
                record["_reply"] = fake.reply(method, params)
                with fake._lock:
                    fake.calls.append((method, record))
                self._send(200, record["_reply"])

            def _send(self, status, body, headers=None):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.api_url = f"http://127.0.0.1:{self.port}/api/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def reply(self, method: str, params: dict) -> dict:
        if method in self.refused:
            return {"ok": False, "error": self.refused[method]}
        if method == "auth.test":
            return {
                "ok": True,
                "user_id": BOT_USER,
                "bot_id": BOT_ID,
                "team_id": "T1",
                "user": "assistant",
                "team": "Test",
                "url": "https://test.slack.com/",
            }
        if method in ("chat.postMessage", "chat.update", "chat.startStream", "chat.appendStream", "chat.stopStream"):
            with self._lock:
                self._ts += 1
                ts = f"{self._ts:.6f}"
            return {
                "ok": True,
                "channel": params.get("channel"),
                "ts": params.get("ts") or ts,
                "message": {"text": params.get("text"), "ts": ts},
            }
        if method == "apps.connections.open":
            return {"ok": True, "url": self.socket_url}
        return {"ok": True}

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def posts(self, channel: str | None = None, method: str = "chat.postMessage") -> list[dict]:
        with self._lock:
            return [
                p
                for m, p in self.calls
                if m == method and p["_status"] == 200 and (channel is None or p.get("channel") == channel)
            ]

    def wait_for(self, predicate, what: str = "the Slack calls this test waits for", timeout: float = EVENT_TIMEOUT):
        """Poll until `predicate()` is truthy and return its value; fail naming `what` if it never is."""
        return wait_for(predicate, what, timeout)


def streamed_text(call: dict) -> str:
    """The Markdown one streaming call added: its `markdown_text` and any markdown chunks."""
    chunks = call.get("chunks") or []
    return (call.get("markdown_text") or "") + "".join(c.get("text", "") for c in chunks if isinstance(c, dict))


def answers(slack: FakeSlack, channel: str) -> list[dict]:
    """Every finished reply in `channel`, however it got there: posted, edited into a placeholder
    (both with blocks), or streamed natively (its streamed text, and the blocks it was stopped with)."""
    out = [p for p in slack.posts(channel) if p.get("blocks")]
    out += [u for u in slack.posts(channel, method="chat.update") if u.get("blocks")]
    for stop in slack.posts(channel, method="chat.stopStream"):
        ts = stop["ts"]
        parts = [
            c
            for method in ("chat.startStream", "chat.appendStream")
            for c in slack.posts(channel, method=method)
            if (c["_reply"].get("ts") if method == "chat.startStream" else c.get("ts")) == ts
        ]
        out.append(
            {"text": "".join(streamed_text(c) for c in [*parts, stop]), "blocks": stop.get("blocks") or [], "ts": ts}
        )
    return out


def click(post: dict, channel: str, user: str, action: dict) -> str:
    """The form body Slack sends when `user` clicks `action` (a button of `post`'s blocks)."""
    from urllib.parse import urlencode

    payload = {
        "type": "block_actions",
        "user": {"id": user},
        "team": {"id": "T1"},
        "api_app_id": "A1",
        "container": {"type": "message", "channel_id": channel},
        "channel": {"id": channel},
        "message": {"text": post["text"], "ts": post["_reply"]["ts"]},
        "trigger_id": "1.2",
        "actions": [{"block_id": "feedback", "action_ts": "1", **action}],
    }
    return urlencode({"payload": json.dumps(payload)})


def thumbs_up(post: dict) -> dict:
    """The 👍 of a posted answer, as the click reports it: a classic button, or Slack's feedback buttons."""
    for block in post["blocks"]:
        if block["type"] == "actions":
            return {**block["elements"][0], "type": "button"}
        if block["type"] == "context_actions":
            element = block["elements"][0]
            return {
                "type": "feedback_buttons",
                "action_id": element["action_id"],
                "value": element["positive_button"]["value"],
            }
    raise AssertionError("no feedback buttons in the post")


def message_text(post: dict) -> str:
    """Everything a person would read in a posted message: text plus all block text."""
    return post.get("text", "") + "\n" + json.dumps(post.get("blocks", []), ensure_ascii=False)
