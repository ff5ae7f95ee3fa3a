"""Build the Bolt app and run it: Socket Mode, or HTTP mode behind uvicorn."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from assistant.config import Settings
from assistant.engine import Engine
from bots.live import Watcher
from bots.progress import sync_with_progress
from bots.settings import ServeSettings
from bots.slack.config import SlackSettings
from bots.slack.jobs import Steward
from bots.slack.listeners import register
from bots.slack.responder import Responder
from bots.state import Job, State
from index.errors import Error

log = logging.getLogger(__name__)
RATE_LIMIT_RETRIES = 3


def create_app(
    engine: Engine, slack: SlackSettings, serve: ServeSettings | None = None, *, socket_mode: bool = False
) -> Any:
    """A Bolt `App` wired to the engine and the shared state store; its Web API client talks to
    `slack.api_url`."""
    return build(engine, slack, serve or ServeSettings(), socket_mode=socket_mode)[0]


def build(
    engine: Engine, slack: SlackSettings, serve: ServeSettings, *, socket_mode: bool = False
) -> tuple[Any, Steward]:
    """The Bolt app, and the steward that, once started, renews this replica's leases and takes
    over what other replicas left unanswered."""
    from slack_bolt import App
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

    if not slack.bot_token:
        raise Error("SLACK_BOT_TOKEN is not set (the bot token, xoxb-…)")
    if socket_mode and not slack.app_token:
        raise Error("SLACK_APP_TOKEN is not set (the app-level token, xapp-…, for Socket Mode)")
    if not socket_mode and not slack.signing_secret:
        raise Error("SLACK_SIGNING_SECRET is not set (needed to verify requests in HTTP mode)")
    client = WebClient(
        token=slack.bot_token,
        base_url=slack.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)],
    )
    state = State(serve.state(engine.settings.data_dir))
    imported = state.import_feedback_log(engine.settings.data_dir / "feedback.jsonl")
    if imported:
        log.info("moved %d feedback records from feedback.jsonl into the state store", imported)
    # Answers run side by side, at most this many at a time; one conversation stays in order.
    workers = ThreadPoolExecutor(max_workers=serve.workers, thread_name_prefix="answer")
    app = App(
        client=client,
        signing_secret=slack.signing_secret or None,
        # In Socket Mode there is no HTTP request to sign; Bolt must not demand a signature.
        request_verification_enabled=not socket_mode,
        process_before_response=False,  # ack at once; answer on Bolt's worker threads
        listener_executor=workers,
    )
    responder = Responder(engine, state, lease=serve.state_lease)
    register(app, responder, slack.prompts)

    def take_over(job: Job) -> None:
        responder.jobs.hold(job.id)
        workers.submit(responder.work, job, client)

    return app, Steward(responder.jobs, take_over)


def run(
    settings: Settings,
    slack: SlackSettings,
    serve: ServeSettings,
    *,
    http: bool,
    port: int,
    host: str = "0.0.0.0",  # noqa: S104 - Slack posts --http events from its own servers; Bolt checks each one's signature
) -> int:
    """Sync the index, load the model, then serve until interrupted."""
    engine = Engine(settings)
    app, steward = build(engine, slack, serve, socket_mode=not http)
    sync_with_progress(engine)
    engine.warm_up()
    steward.start()  # ready to answer: take over questions other replicas left unanswered
    # Follows the folder (and a shared store) while serving; answers never wait for it.
    Watcher(engine, interval=serve.watch_interval, watch_folder=serve.watch).start()
    if http:
        import uvicorn
        from slack_bolt.adapter.asgi import SlackRequestHandler

        print(f"listening for Slack events on http://{host}:{port}/slack/events", flush=True)
        uvicorn.run(SlackRequestHandler(app, path="/slack/events"), host=host, port=port, log_level="warning")
        return 0
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    print("connecting to Slack in Socket Mode", flush=True)
    SocketModeHandler(app, slack.app_token, web_client=app.client).start()
    return 0
