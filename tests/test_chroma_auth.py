"""A Chroma server that wants a token, in a database of its own: a loopback proxy in front of
`chroma run` rejects every request without the token, as a protected or managed server does."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from data import BECK, BUNDLED, HOMELAND, SCRIPT
from processes import ChromaServer

pytestmark = pytest.mark.slow

TOKEN = "ck-test-7f3a9"


class TokenProxy:
    """Forwards to `upstream` only requests carrying the token (X-Chroma-Token or a bearer); 401 otherwise."""

    def __init__(self, upstream: str):
        self.refused = 0
        self.passed = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _relay(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                token = self.headers.get("X-Chroma-Token") or self.headers.get("Authorization", "").removeprefix(
                    "Bearer "
                )
                if token != TOKEN:
                    proxy.refused += 1
                    return self._send(401, json.dumps({"error": "Unauthorized", "message": "missing token"}).encode())
                proxy.passed += 1
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "accept")}
                request = urllib.request.Request(
                    upstream + self.path, data=body or None, method=self.command, headers=headers
                )
                try:
                    with urllib.request.urlopen(request, timeout=60) as resp:
                        self._send(resp.status, resp.read(), resp.headers.get("Content-Type"))
                except urllib.error.HTTPError as err:
                    self._send(err.code, err.read(), err.headers.get("Content-Type"))

            def _send(self, status, data, content_type="application/json"):
                self.send_response(status)
                self.send_header("Content-Type", content_type or "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _relay

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_a_token_protected_server_with_its_own_database(tmp_path):
    import chromadb

    server = ChromaServer(tmp_path / "chroma")
    server.start()
    try:
        host, port = "127.0.0.1", server.port
        over_http = chromadb.Settings(
            chroma_api_impl="chromadb.api.fastapi.FastAPI", chroma_server_host=host, chroma_server_http_port=port
        )
        chromadb.AdminClient(over_http).create_database("team", tenant="default_tenant")
        with TokenProxy(server.url) as proxy:
            env = {
                **os.environ,
                "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
                "ASSISTANT_CORPUS": str(BUNDLED),
                "ASSISTANT_CHROMA_URL": proxy.url,
                "ASSISTANT_CHROMA_TENANT": "default_tenant",
                "ASSISTANT_CHROMA_DATABASE": "team",
                "HF_HUB_OFFLINE": "1",
            }

            def run(*args: str, **extra: str) -> subprocess.CompletedProcess:
                return subprocess.run(
                    [str(SCRIPT), *args], env={**env, **extra}, capture_output=True, text=True, timeout=300
                )

            refused = run("ingest", "--json")
            assert refused.returncode == 1 and proxy.refused > 0 and proxy.passed == 0
            assert refused.stderr.startswith("error: cannot open the Chroma index at " + proxy.url)
            assert len(refused.stderr.strip().splitlines()) == 1

            ingested = run("ingest", "--json", ASSISTANT_CHROMA_TOKEN=TOKEN)
            assert ingested.returncode == 0, ingested.stderr
            assert json.loads(ingested.stdout)["added"]
            asked = run("ask", "--json", BECK, ASSISTANT_CHROMA_TOKEN=TOKEN)
            assert asked.returncode == 0, asked.stderr
            assert any(HOMELAND in c["quote"] for c in json.loads(asked.stdout)["citations"])

        # The vectors went to the database asked for, not Chroma's default one.
        direct = {"host": host, "port": port, "settings": chromadb.Settings(anonymized_telemetry=False)}
        assert chromadb.HttpClient(**direct, database="team").list_collections()
        assert not chromadb.HttpClient(**direct).list_collections()
    finally:
        server.stop()


def test_a_missing_database_is_one_clear_error(tmp_path):
    server = ChromaServer(tmp_path / "chroma")
    server.start()
    try:
        env = {
            **os.environ,
            "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
            "ASSISTANT_CHROMA_URL": server.url,
            "ASSISTANT_CHROMA_DATABASE": "nosuch",
            "HF_HUB_OFFLINE": "1",
        }
        done = subprocess.run(
            [str(SCRIPT), "ask", BECK, "--corpus", str(BUNDLED)], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 1 and done.stderr.startswith("error: cannot open the Chroma index")
        assert "nosuch" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    finally:
        server.stop()
