"""Socket Mode: an events_api envelope over a real loopback websocket, through Bolt's adapter."""

from __future__ import annotations

import json
import threading

import pytest

from data import BECK, HOMELAND
from fake_slack import BOT_USER, FakeSlack, message_text

pytestmark = pytest.mark.slow


def test_an_envelope_is_acked_and_answered(tmp_path, corpus, embedder):
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from websockets.sync.server import serve

    from assistant.config import Settings
    from assistant.engine import Engine
    from bots.slack.app import create_app
    from bots.slack.config import SlackSettings

    acks: list[dict] = []
    got_ack = threading.Event()
    ev = {
        "type": "app_mention",
        "user": "U1",
        "text": f"<@{BOT_USER}> {BECK}",
        "ts": "1700000001.000100",
        "channel": "CSOCK",
        "event_ts": "1700000001.000100",
    }
    envelope = {
        "envelope_id": "env-1",
        "type": "events_api",
        "accepts_response_payload": False,
        "retry_attempt": 0,
        "retry_reason": "",
        "payload": {
            "type": "event_callback",
            "team_id": "T1",
            "api_app_id": "A1",
            "event": ev,
            "event_id": "EvSock1",
            "event_time": 1,
        },
    }

    def session(ws):
        ws.send(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}}))
        ws.send(json.dumps(envelope))
        for raw in ws:
            message = json.loads(raw)
            if message.get("envelope_id"):
                acks.append(message)
                got_ack.set()

    with FakeSlack() as slack, serve(session, "127.0.0.1", 0) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        slack.socket_url = f"ws://127.0.0.1:{server.socket.getsockname()[1]}/"
        slack_settings = SlackSettings(api_url=slack.api_url, bot_token="xoxb-test", app_token="xapp-test")
        engine = Engine(Settings(corpus=corpus, data_dir=tmp_path / "data"), embedder=embedder)
        engine.sync()
        app = create_app(engine, slack_settings, socket_mode=True)
        handler = SocketModeHandler(app, slack_settings.app_token, web_client=app.client)
        handler.connect()
        try:
            assert got_ack.wait(60), "the envelope was never acked"
            posts = slack.wait_for(lambda: slack.posts("CSOCK"))
        finally:
            handler.close()
            server.shutdown()
    assert acks[0]["envelope_id"] == "env-1"
    assert len(posts) == 1 and posts[0]["thread_ts"] == ev["ts"] and HOMELAND in message_text(posts[0])
