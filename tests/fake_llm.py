"""A loopback OpenAI-compatible server (/v1/chat/completions, streaming and not), scripted per test."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeLLM:
    """`replies` is a queue of (kind, value): ("text", answer), ("cut", answer: stopped at the token
    limit, finish_reason "length"), ("slow", (answer, seconds between words)), ("status", 500),
    ("hang", seconds), ("garbage", body). With the queue empty it answers `default`, after
    `delay` seconds.

    What a test can wait on or assert, instead of timing the client: `requests` (bodies, in the
    order they came), `in_flight` and `most_in_flight` (requests being answered at once),
    `completed` (indexes of the requests whose reply was written to the end; a client that
    hangs up early leaves its request out). Clearing `gate` holds every request until it is set."""

    def __init__(self, default: str = "The sources do not answer this question.", delay: float = 0.0):
        self.default = default
        self.delay = delay
        self.replies: list[tuple[str, object]] = []
        self.requests: list[dict] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.completed: list[int] = []
        self.gate = threading.Event()
        self.gate.set()
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                with fake._lock:
                    number = len(fake.requests)
                    fake.requests.append(body)
                    fake.in_flight += 1
                    fake.most_in_flight = max(fake.most_in_flight, fake.in_flight)
                try:
                    fake.gate.wait(timeout=120)
                    self._answer(body)
                    with fake._lock:
                        fake.completed.append(number)
                except OSError:
                    pass  # the client hung up (a cancelled stream, a timeout): its request stays incomplete
                finally:
                    with fake._lock:
                        fake.in_flight -= 1

            def _answer(self, body):
                if fake.replies:
                    kind, value = fake.replies.pop(0)
                else:
                    time.sleep(fake.delay)
                    kind, value = "text", fake.default
                pause = 0.0
                if kind == "slow":
                    kind, (value, pause) = "text", value
                if kind == "hang":
                    time.sleep(float(value))
                    kind, value = "text", fake.default
                finish = "length" if kind == "cut" else "stop"
                kind = "text" if kind == "cut" else kind
                if kind == "status":
                    self._send(int(value), json.dumps({"error": {"message": "boom", "type": "server_error"}}))
                elif kind == "garbage":
                    self._send(200, str(value))
                elif body.get("stream"):
                    self._stream(str(value), body.get("model", "m"), finish, pause)
                else:
                    self._send(
                        200,
                        json.dumps(
                            {
                                "id": "chatcmpl-1",
                                "object": "chat.completion",
                                "created": 0,
                                "model": body.get("model", "m"),
                                "choices": [
                                    {
                                        "index": 0,
                                        "message": {"role": "assistant", "content": value},
                                        "finish_reason": finish,
                                    }
                                ],
                                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                            }
                        ),
                    )

            def _send(self, status, text):
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, text, model, finish="stop", pause=0.0):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                words = text.split(" ")
                pieces = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
                for i, piece in enumerate([*pieces, None]):
                    delta = {"content": piece} if piece is not None else {}
                    if i == 0:
                        delta["role"] = "assistant"
                    chunk = {
                        "id": "chatcmpl-1",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": model,
                        "choices": [
                            {"index": 0, "delta": delta, "finish_reason": None if piece is not None else finish}
                        ],
                    }
                    self._chunk(f"data: {json.dumps(chunk)}\n\n")
                    time.sleep(pause)
                self._chunk("data: [DONE]\n\n")
                self._chunk("")

            def _chunk(self, text):
                data = text.encode()
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a client that stops reading a stream (as the repetition guard does) is normal

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
