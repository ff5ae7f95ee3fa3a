"""`assistant serve` as the API and hostile-input tests run it: a real process on a free loopback
port, called with plain HTTP (urllib), the `openai` client and the MCP SDK's clients."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from data import SCRIPT
from processes import free_port, spawn, stop, wait_for, wait_for_port

# The hostile suite's Schemathesis run: its seed (printed in the run's header; set it to replay
# another run) and the examples per operation and phase.
FUZZ_SEED = int(os.environ.get("HOSTILE_SEED", "20261204"))
FUZZ_EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "150"))


@dataclass
class Server:
    url: str
    root: Path

    def call(self, method: str, path: str, body: bytes | dict | None = None, token: str | None = None, **headers):
        """(status, parsed JSON or text) of one request."""
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        for name, value in headers.items():
            request.add_header(name.replace("_", "-"), value)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                status, raw = response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read().decode()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw


@contextlib.contextmanager
def serving(root: Path, *args: str, ready: bool = True, **env: str) -> Iterator[Server]:
    """`assistant serve` on a free loopback port, stopped when the block ends; with `ready`, once
    its index is synced."""
    port = free_port()
    full_env = {**os.environ, "ASSISTANT_DATA_DIR": str(root / "data"), "HF_HUB_OFFLINE": "1", **env}
    log = root / "serve.out"
    with open(log, "wb") as out:
        command = [str(SCRIPT), "serve", "--port", str(port), *args]
        proc = spawn(command, env=full_env, cwd=root, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc, "assistant serve", timeout=120, log=log)
        server = Server(f"http://127.0.0.1:{port}", root)
        if ready:
            wait_for(lambda: server.call("GET", "/readyz")[0] == 200, "readiness", 120)
        yield server
    finally:
        stop(proc)


def client(server: Server, token: str = "none"):
    from openai import OpenAI

    return OpenAI(base_url=server.url + "/v1", api_key=token, max_retries=0, timeout=120)


def mcp_call(session_factory, *calls, resources: bool = False):
    """Run `calls` (name, arguments) through an MCP client session; the tool names and results,
    and with `resources` the URIs listed and what reading each one gave (its text, or the error)."""
    import asyncio

    from mcp import ClientSession
    from mcp.shared.exceptions import McpError

    async def read(session, uri):
        try:
            return (await session.read_resource(uri)).contents[0].text
        except McpError as exc:
            return f"error: {exc}"

    async def go():
        async with session_factory() as streams, ClientSession(streams[0], streams[1]) as session:
            await session.initialize()
            names = [t.name for t in (await session.list_tools()).tools]
            results = [await session.call_tool(name, args) for name, args in calls]
            if not resources:
                return names, results
            listed = [str(r.uri) for r in (await session.list_resources()).resources]
            wanted = [*listed, "assistant://hr/leave.md"]
            return names, results, {uri: await read(session, uri) for uri in dict.fromkeys(wanted)}

    return asyncio.run(go())


@contextlib.asynccontextmanager
async def over_http(url: str, token: str | None = None):
    """The SDK's streamable-HTTP client, with a bearer token when given."""
    import httpx
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx.AsyncClient(headers=headers, timeout=120) as http,
        streamable_http_client(url, http_client=http) as streams,
    ):
        yield streams
