"""Hostile input against a real `assistant serve` with two spaces and bearer tokens: Schemathesis
fuzzing its OpenAPI schema with and without a token, a traversal corpus against /v1/documents and
the MCP resources, oversized and malformed requests, slow clients, a flood from one token, and
conversations that stay their caller's. Canary files beside the spaces (and in the space one user
may not see) must never appear in any response. Every figure the closing note cites is printed
(`pytest -s tests/test_hostile.py`)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from api_server import FUZZ_EXAMPLES, FUZZ_SEED, Server, serving
from data import ARTICLE, BECK, BUNDLED
from processes import wait_for

pytestmark = pytest.mark.slow

CANARY_OUTSIDE = "CANARY-7f3a-outside-the-spaces"  # a file beside the spaces
CANARY_HR = "CANARY-91c2-in-the-hr-space"  # a document of the space only `ana` may see
CANARY_SPACES = "CANARY-55d0-spaces-file"
CANARY_TOKENS = "CANARY-e4b8-tokens-file"
PASSWD = "root:x:0:0"  # /etc/passwd's first line
NOT_FOR_GENERAL = (CANARY_OUTSIDE, CANARY_HR, CANARY_SPACES, CANARY_TOKENS, PASSWD, "tok-hr")
NOT_FOR_ANA = (CANARY_OUTSIDE, CANARY_SPACES, CANARY_TOKENS, PASSWD, "tok-general")
NEVER = (CANARY_OUTSIDE, CANARY_SPACES, CANARY_TOKENS, PASSWD)  # for anybody, in any reply
SENT = {"raw": 0}  # requests this module sent over raw sockets (Schemathesis counts its own)
GENERAL, ANA = "tok-general", "tok-hr"
SPACES = f"""# {CANARY_SPACES}
[spaces.handbook]
corpus = "handbook"
api_users = ["*"]

[spaces.hr]
corpus = "hr"
api_users = ["ana"]
"""


def make_hostile_root(root: Path) -> dict[str, str]:
    """Two spaces, canaries beside and inside them, a link from a space to the outside; the
    server's environment."""
    (root / "handbook").mkdir(parents=True)
    (root / "handbook" / ARTICLE).write_text((BUNDLED / ARTICLE).read_text(encoding="utf-8"), encoding="utf-8")
    (root / "hr").mkdir()
    (root / "hr" / "leave.md").write_text(
        f"# Leave\n\nEmployees receive 27 days of paid parental leave.\n\nThe audit code is {CANARY_HR}.\n",
        encoding="utf-8",
    )
    (root / "secret.txt").write_text(f"{CANARY_OUTSIDE}\n", encoding="utf-8")
    # Inside the space's folder but not documents the index holds (a type it doesn't read, a hidden file).
    (root / "handbook" / "notes.json").write_text(f'{{"x": "{CANARY_OUTSIDE}"}}\n', encoding="utf-8")
    (root / "handbook" / ".private.txt").write_text(f"{CANARY_OUTSIDE}\n", encoding="utf-8")
    (root / "handbook" / "leak.txt").symlink_to(root / "secret.txt")  # skipped at ingest, never read
    (root / "spaces.toml").write_text(SPACES, encoding="utf-8")
    (root / "tokens.txt").write_text(f"# {CANARY_TOKENS}\n{GENERAL}=general\n{ANA}=ana\n", encoding="utf-8")
    return {"ASSISTANT_SPACES": str(root / "spaces.toml"), "ASSISTANT_API_TOKENS": str(root / "tokens.txt")}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, embedder) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("hostile")
    with serving(root, ASSISTANT_RATE_LIMIT="off", **make_hostile_root(root)) as server:
        yield server


@pytest.fixture(scope="module", autouse=True)
def count_requests() -> Iterator[None]:
    yield
    print(f"\nraw requests sent by this module: {SENT['raw']}, none with a canary in its reply")


def leaks(text: str, forbidden: tuple[str, ...]) -> list[str]:
    return [c for c in forbidden if c in text]


def exchange(server: Server, request: bytes, timeout: float = 60) -> tuple[bytes, bytes]:
    """(head, body) of the reply to one request sent byte for byte as given (no client tidies it)."""
    host, port = server.url.removeprefix("http://").split(":")
    request = request.replace(b"\r\nHost: 127.0.0.1\r\n", f"\r\nHost: 127.0.0.1:{port}\r\n".encode(), 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    SENT["raw"] += 1
    assert not leaks(body.decode("utf-8", "replace"), NEVER), request[:200]
    return head, body


def raw(server: Server, request: bytes, timeout: float = 60) -> tuple[int, str]:
    """(status, body) of one request sent as given."""
    head, body = exchange(server, request, timeout)
    return int(head.split(b" ")[1]), body.decode("utf-8", "replace")


def get(target: str, token: str | None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: close\r\n\r\n".encode("latin-1")


def post(target: str, body: bytes, token: str | None = GENERAL, **headers: str) -> bytes:
    lines = [f"POST {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", "Content-Type: application/json"]
    lines += [f"Authorization: Bearer {token}"] if token else []
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    if "Transfer_Encoding" not in headers:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# Ways to say "outside this space" in a document path, each as it goes on the wire.
TARGETS = {
    "outside": "secret.txt",
    "spaces file": "spaces.toml",
    "tokens file": "tokens.txt",
    "other space": "hr/leave.md",
}
ENCODINGS = {
    "dot-dot": "../{t}",
    "dot-dot deep": "../../../../../../..{abs}",
    "%2e%2e": "%2e%2e/{t}",
    "%2E%2E%2F": "%2E%2E%2F{t}",
    "..%2f": "..%2f{t}",
    ".%2e": ".%2e/{t}",
    "%2e.": "%2e./{t}",
    "backslash %5c": "..%5c{t}",
    "backslash raw": "..\\{t}",
    "double-encoded": "%252e%252e%252f{t}",
    "double-encoded slash": "..%252f{t}",
    "overlong 2-byte dot": "%c0%ae%c0%ae/{t}",
    "overlong 2-byte slash": "..%c0%af{t}",
    "overlong 3-byte dot": "%e0%80%ae%e0%80%ae/{t}",
    "overlong 2-byte backslash": "..%c1%9c{t}",
    "IIS %u": "%u002e%u002e/{t}",
    "full-width dots": "%ef%bc%8e%ef%bc%8e/{t}",
    "dots and slashes": "....//{t}",
    "dot-dot semicolon": "..;/{t}",
    "NUL after dot-dot": "..%00/{t}",
    "NUL suffix": "../{t}%00.md",
    "newline": "..%0a/{t}",
    "CR LF": "..%0d%0a/{t}",
    "tab": "..%09/{t}",
    "absolute": "/{absolute}",
    "absolute encoded": "%2f{absolute_encoded}",
    "file URL": "file:%2f%2f{absolute_encoded}",
    "drive letter": "C:%5c{t}",
    "drive letter slash": "C:/{t}",
    "UNC": "%5c%5c127.0.0.1%5cshare%5c{t}",
    "dot segment": "./../{t}",
    "empty segment": "handbook//../{t}",
    "trailing dot-dot": "{t}/..",
}
FIXED = {  # forms that name a target outright
    "/etc/passwd": "/etc/passwd",
    "/etc/passwd encoded": "%2fetc%2fpasswd",
    "deep /etc/passwd": "../../../../../../../../etc/passwd",
    "deep encoded /etc/passwd": "..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "proc environ": "../../../../../../../../proc/self/environ",
    "link leaving the space": "leak.txt",
    "link leaving the space, encoded": "leak%2etxt",
    "inside, not indexed (type)": "notes.json",
    "inside, not indexed (hidden)": ".private.txt",
}


def traversal_forms(root: Path) -> dict[str, str]:
    """name -> document path (as sent) of every traversal form, against every target."""
    forms = dict(FIXED)
    for target_name, target in TARGETS.items():
        absolute = (root / target).as_posix().lstrip("/")
        for enc_name, pattern in ENCODINGS.items():
            forms[f"{enc_name} -> {target_name}"] = pattern.format(
                t=target,
                abs=(root / target).as_posix(),
                absolute=absolute,
                absolute_encoded=absolute.replace("/", "%2f"),
            )
    return forms


def test_every_traversal_form_is_a_404_from_the_api_for_every_caller(hostile):
    forms = traversal_forms(hostile.root)
    # The controls: a document the caller may see is read, so the 404s below are containment.
    assert raw(hostile, get(f"/v1/documents/handbook/{ARTICLE}?end=20", GENERAL))[0] == 200
    assert raw(hostile, get("/v1/documents/hr/leave.md", ANA))[0] == 200

    sent, seen = 0, {}
    for token, forbidden in ((GENERAL, NOT_FOR_GENERAL), (ANA, NOT_FOR_ANA), (None, NOT_FOR_GENERAL)):
        for space in ("handbook", "hr", "..", "%2e%2e"):
            for name, path in forms.items():
                status, body = raw(hostile, get(f"/v1/documents/{space}/{path}", token))
                sent += 1
                expected = {401, 404} if token is None else {404}  # no token: a route no name matches is a 404 too
                seen[(token, space, name)] = status
                assert status in expected, (token, space, name, path, status, body)
                assert not leaks(body, forbidden), (token, space, name)
                if token is not None:
                    assert json.loads(body) == {"error": "no such document"}  # one reply, whatever the reason
    print(f"\ntraversal forms: {len(forms)}; API requests: {sent}; statuses: {sorted(set(seen.values()))}")


def mcp_read(server: Server, uri: str, token: str) -> tuple[int, str]:
    request = {"jsonrpc": "2.0", "id": 1, "method": "resources/read", "params": {"uri": uri}}
    body = json.dumps(request).encode()
    return raw(server, post("/mcp", body, token, Accept="application/json, text/event-stream"))


def _mcp_result(body: str) -> dict:
    data = [line[6:] for line in body.splitlines() if line.startswith("data: ")]
    return json.loads(data[-1] if data else body)


def test_every_traversal_form_is_an_error_from_the_mcp_resources(hostile):
    forms = traversal_forms(hostile.root)
    status, body = mcp_read(hostile, f"assistant://handbook/{ARTICLE}", GENERAL)  # the control
    assert status == 200 and "result" in _mcp_result(body)
    sent = 0
    for token, forbidden in ((GENERAL, NOT_FOR_GENERAL), (ANA, NOT_FOR_ANA)):
        for space in ("handbook", "hr", "default", ".."):
            for name, path in forms.items():
                status, body = mcp_read(hostile, f"assistant://{space}/{path}", token)
                sent += 1
                assert status == 200 and "error" in _mcp_result(body) and "result" not in _mcp_result(body), (
                    token,
                    space,
                    name,
                    body,
                )
                assert not leaks(body, forbidden), (token, space, name)
    print(f"\nMCP resource reads: {sent}, every one an error")


def schemathesis(server: Server, token: str | None, report: Path) -> subprocess.CompletedProcess:
    """One `st run` against the server's schema (in the report's folder: it keeps a cache there)."""
    command = [
        str(Path(sys.executable).parent / "st"),
        "run",
        f"{server.url}/openapi.json",
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,"
        "response_headers_conformance,response_schema_conformance",
        "--max-examples",
        str(FUZZ_EXAMPLES),
        "--seed",
        str(FUZZ_SEED),
        "--workers",
        "1",  # two threads trip a CPython 3.11 AST race inside Hypothesis ("recursion depth mismatch")
        "--request-timeout",
        "60",
        "--report",
        "har",
        "--report-har-path",
        str(report),
        "--no-color",
    ]
    command += ["--header", f"Authorization: Bearer {token}"] if token else []
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, cwd=report.parent)


def test_schemathesis_fuzzes_every_operation_with_and_without_a_token(hostile, tmp_path):
    print(f"\nSchemathesis seed: {FUZZ_SEED} (HOSTILE_SEED replays it), {FUZZ_EXAMPLES} examples per operation")
    total = 0
    for token, forbidden in ((GENERAL, NOT_FOR_GENERAL), (None, NOT_FOR_GENERAL)):
        report = tmp_path / f"fuzz-{token or 'anonymous'}.har"
        run = schemathesis(hostile, token, report)
        assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
        entries = json.loads(report.read_text(encoding="utf-8"))["log"]["entries"]
        operations = {
            (e["request"]["method"], e["request"]["url"].split("?")[0].split("/v1/")[-1][:9]) for e in entries
        }
        statuses = sorted({e["response"]["status"] for e in entries})
        assert not [s for s in statuses if s >= 500]
        for e in entries:
            assert not leaks(e["response"]["content"].get("text", ""), forbidden), e["request"]["url"]
        total += len(entries)
        print(f"  token {'yes' if token else 'no'}: {len(entries)} requests, statuses {statuses}")
        assert len(operations) >= 6 and len(entries) > 100
    print(f"  requests fuzzed: {total}; 5xx: 0; canary leaks: 0")


def test_oversized_and_malformed_requests_get_4xx_and_the_server_stays_up(hostile):
    big = json.dumps({"question": "x" * 70_000}).encode()
    assert raw(hostile, post("/v1/ask", big)) == (413, '{"error": "the body is 70,016 bytes; at most 65,536"}')
    chunked = b"11170\r\n" + b"x" * 70_000 + b"\r\n0\r\n\r\n"
    status, body = raw(hostile, post("/v1/ask", chunked, Transfer_Encoding="chunked"))
    assert (status, json.loads(body)["error"]) == (413, "the body is over 65,536 bytes")
    header = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {'a' * 100_000}\r\nConnection: close\r\n\r\n"
    assert raw(hostile, header.encode())[0] in (400, 431)  # h11 if the head came in pieces, else the guard
    many = "".join(f"X-{n}: a\r\n" for n in range(5000))
    flood = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n{many}Connection: close\r\n\r\n"
    assert raw(hostile, flood.encode())[0] in (400, 431)
    assert raw(hostile, post("/v1/ask", b'{"question": "\xff\xfe who?"}')) == (400, '{"error":"the body is not UTF-8"}')
    for bomb in (
        b"[" * 30_000 + b"]" * 30_000,
        b'{"question": "who", "x": ' + b'{"a":' * 10_000 + b"1" + b"}" * 10_001,
    ):
        status, body = raw(hostile, post("/v1/ask", bomb))
        assert status == 400 and "error" in json.loads(body), body
    assert raw(hostile, get("/healthz", None)) == (200, '{"status":"ok"}')
    status, body = raw(hostile, post("/v1/ask", json.dumps({"question": BECK}).encode()))
    assert status == 200 and json.loads(body)["citations"]


def test_slow_clients_do_not_stop_anyone_else(hostile):
    """Slowloris, bounded: 60 connections each dribbling a request head a byte every 0.2 s (at most
    80 s, stopped as soon as the checks are done), on loopback; once every one of them is part-way
    through its head, /healthz and an answer come as usual, and the slow ones are still open."""
    host, port = hostile.url.removeprefix("http://").split(":")
    stop = threading.Event()
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 400
    sent = [0] * 60
    opened: list[socket.socket] = []

    def dribble(n: int, sock: socket.socket) -> None:
        for byte in head:
            if stop.wait(0.2):
                return
            try:
                sock.send(bytes([byte]))
            except OSError:
                return
            sent[n] += 1

    try:
        opened = [socket.create_connection((host, int(port)), timeout=10) for _ in range(60)]
        threads = [threading.Thread(target=dribble, args=(n, s), daemon=True) for n, s in enumerate(opened)]
        for t in threads:
            t.start()
        wait_for(lambda: min(sent) >= 10, "every slow client 10 bytes into its request head")
        began = time.perf_counter()
        assert raw(hostile, get("/healthz", None))[0] == 200
        healthz = time.perf_counter() - began
        status, body = raw(hostile, post("/v1/ask", json.dumps({"question": BECK}).encode()))
        assert status == 200 and json.loads(body)["citations"]
        assert all(t.is_alive() for t in threads) and max(sent) < len(head)  # all still part-way
        print(
            f"\n60 slow clients part-way through their heads: /healthz in {healthz * 1000:.0f} ms, an answer as usual"
        )
    finally:
        stop.set()
        for s in opened:
            s.close()


def test_a_flood_from_one_token_is_limited_and_health_answers_throughout(tmp_path, embedder):
    """With tokens and no ASSISTANT_RATE_LIMIT, each token gets 60 requests a minute."""
    with serving(tmp_path, **make_hostile_root(tmp_path)) as server:
        done = threading.Event()
        latencies: list[float] = []
        health: list[int] = []

        def watch() -> None:
            while not done.is_set():
                began = time.perf_counter()
                health.append(raw(server, get("/healthz", None), timeout=10)[0])
                latencies.append(time.perf_counter() - began)
                done.wait(0.05)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        body = json.dumps({"question": BECK}).encode()
        try:
            with ThreadPoolExecutor(16) as pool:
                flood = list(pool.map(lambda _: raw(server, post("/v1/ask", body, GENERAL)), range(300)))
            other = raw(server, get("/v1/models", ANA))  # another token's allowance is its own
        finally:
            done.set()
            watcher.join(timeout=30)
        statuses = [s for s, _ in flood]
        assert statuses.count(200) == 60 and statuses.count(429) == 240, sorted(set(statuses))
        limited = next(b for s, b in flood if s == 429)
        assert json.loads(limited)["error"].startswith("too many requests: at most 60 per 1 minute")
        assert other[0] == 200
        assert health and set(health) == {200}
        latencies.sort()
        p50, worst = latencies[len(latencies) // 2], latencies[-1]
        print(
            f"\nflood: 300 requests from one token, 60 answered, 240 got 429; /healthz {len(health)} times, "
            f"p50 {p50 * 1000:.1f} ms, max {worst * 1000:.1f} ms"
        )


def test_a_429_says_when_to_retry(tmp_path, embedder):
    with serving(tmp_path, ASSISTANT_RATE_LIMIT="2/minute", **make_hostile_root(tmp_path)) as server:
        assert [raw(server, get("/v1/models", GENERAL))[0] for _ in range(2)] == [200, 200]
        data = raw(server, get("/v1/models", GENERAL))
        assert data[0] == 429
        reply, _ = exchange(server, get("/v1/models", GENERAL))
        assert reply.startswith(b"HTTP/1.1 429") and 1 <= int(_header(reply, b"retry-after")) <= 60
        assert raw(server, get("/healthz", None))[0] == 200  # liveness is never limited


def _header(head: bytes, name: bytes) -> bytes:
    return next(line.split(b":", 1)[1].strip() for line in head.split(b"\r\n") if line.lower().startswith(name + b":"))


def test_a_conversation_id_names_only_the_callers_own_conversation(hostile):
    """Ana's question and a second user's follow-up under the same id: the follow-up is read on its
    own, and none of Ana's words reach the second user; Ana's own follow-up is resolved."""
    first = {"question": "How many days of paid parental leave do employees get?", "conversation": "team-1"}
    status, ana = hostile.call("POST", "/v1/ask", first, token=ANA)
    assert status == 200 and "27 days" in ana["citations"][0]["quote"]

    status, other = hostile.call(
        "POST", "/v1/ask", {"question": "What about the sheriff?", "conversation": "team-1"}, token=GENERAL
    )
    assert status == 200 and other["conversation"] == "team-1"
    assert "query" not in other  # nothing earlier to resolve against: a new conversation
    said = json.dumps(other).lower()
    assert not [w for w in ("parental", "leave", "employees", "27 days") if w in said], other

    status, again = hostile.call(
        "POST", "/v1/ask", {"question": "What about unpaid leave?", "conversation": "team-1"}, token=ANA
    )
    assert status == 200 and "days" in again.get("query", "").lower()  # resolved against Ana's own turn
