"""`assistant serve`: the HTTP API on uvicorn, with the same engine, state store and watcher as
the Slack bot. Liveness comes at once; readiness (and answers) once the index is synced."""

from __future__ import annotations

import errno
import ipaddress
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

from assistant.config import Settings
from assistant.engine import Engine
from bots.api.app import create_app
from bots.api.tokens import load
from bots.live import Watcher
from bots.settings import ServeSettings
from bots.state import State
from index.errors import Error, one_line

log = logging.getLogger(__name__)


def loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(settings: Settings, serve: ServeSettings, *, host: str, port: int) -> int:
    """Serve until interrupted; without tokens, only on a loopback address."""
    import uvicorn

    tokens = load(serve.api_tokens)
    if not tokens and not loopback(host):
        raise Error(f"--host {host} without ASSISTANT_API_TOKENS would answer anyone: set tokens, or keep 127.0.0.1")
    engine = Engine(settings)
    state = State(serve.state(settings.data_dir))
    app = create_app(engine, state, serve, tokens, host=host)

    def prepare() -> None:
        try:
            engine.sync(wait=True)
            engine.warm_up()
        except Exception as exc:
            log.exception("syncing the index failed")
            app.state.broken = f"couldn't open the index: {one_line(exc)}"  # /readyz and answers say so
            return
        app.state.ready = True
        log.info("ready: the index is synced")
        Watcher(engine, interval=serve.watch_interval, watch_folder=serve.watch).start()

    sock = listen(host, port)  # before saying "serving": a port in use is one error line, exit 1
    threading.Thread(target=prepare, name="prepare", daemon=True).start()
    print(f"serving the API on http://{host}:{port} (/v1/ask, /v1/chat/completions, /mcp)", flush=True)
    # h11 bounds a request's head (16 KB by default: larger headers get a 400); httptools doesn't.
    uvicorn.Server(uvicorn.Config(app, log_level="warning", http="h11")).run(sockets=[sock])
    return 0


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or an Error saying why there can't be one."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise Error(f"can't listen on {host}:{port}: {exc.strerror or exc}") from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        in_use = exc.errno == errno.EADDRINUSE
        why = "the port is in use (pick another with --port)" if in_use else exc.strerror or str(exc)
        raise Error(f"can't listen on {host}:{port}: {why}") from exc
    return sock


def run_stdio(settings: Settings, serve: ServeSettings) -> int:
    """`assistant mcp`: the MCP server on stdin/stdout (stdout is the protocol's: nothing else goes
    there), after syncing the index; every space is visible (the caller runs it as themselves)."""
    import asyncio

    from bots.api import tools

    engine = Engine(settings)
    engine.sync(wait=True)
    engine.warm_up()
    Watcher(engine, interval=serve.watch_interval, watch_folder=serve.watch).start()
    everything = [s.name for s in engine.spaces] if engine.named else None

    async def off_loop(work: Callable[[], Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, work)

    tools.build(engine, lambda _request: ("", everything), off_loop).run("stdio")
    return 0
