"""What a long-running front end needs beyond the engine: its shared state store, how many
questions it answers at once, and how it follows the folder. Read from the same `ASSISTANT_*`
variables at the edge and never given to the engine."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from assistant.config import DOTENV, FileSettings
from bots.api.guard import rates


class ServeSettings(FileSettings):
    """The serving side of the bots (Slack today): state store, leases, workers, watching."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="ignore", env_file=DOTENV)

    state_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the bot's shared state (default sqlite:///DATA_DIR/state.db; postgresql+psycopg://… for replicas on several machines).",
    )
    state_lease: float = Field(
        15.0,
        ge=1,
        le=3600,
        description="Seconds a bot replica's hold on a question lasts unrenewed before another takes it over.",
    )
    workers: int = Field(4, ge=1, le=64, description="Questions a bot answers at the same time.")
    watch: bool = Field(True, description="Long-running front ends follow the corpus folder's changes.")
    watch_interval: float = Field(2.0, gt=0, le=600, description="Seconds between looks at the folder and index.")
    api_tokens: str | None = Field(
        None,
        description="Bearer tokens of the HTTP API and MCP and whose they are: a file of `token=user` lines, or inline `token=user,token=user`. Without any, `assistant serve` listens on loopback only.",
    )

    rate_limit: str | None = Field(
        None,
        description="Requests each bearer token may make to `assistant serve` (the `limits` notation: `60/minute`, `5/second;1000/hour`); past it, 429 with Retry-After. `off` for none. Default: 60/minute with ASSISTANT_API_TOKENS, off without (loopback only). Per process.",
    )

    @field_validator("rate_limit")
    @classmethod
    def _rate(cls, value: str | None) -> str | None:
        try:
            rates(value, tokens=True)
        except ValueError as exc:
            raise ValueError("must be like 60/minute or 5/second;1000/hour, or off") from exc
        return value

    def state(self, data_dir: Path) -> str:
        """The state store's URL: the setting, or SQLite in the data dir."""
        return self.state_url or f"sqlite:///{data_dir.expanduser().resolve() / 'state.db'}"
