"""Slack's settings, read at the edge and given only to the Slack app (never to the engine)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from assistant.config import DOTENV, FileSettings


class SlackSettings(FileSettings):
    """The Web API URL and credentials (`[slack]` in assistant.toml); the token names are Slack's own, so they are read without the prefix too."""

    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_SLACK_", extra="ignore", populate_by_name=True, env_file=DOTENV
    )
    toml_table: ClassVar[tuple[str, ...]] = ("slack",)

    api_url: str = Field(
        "https://slack.com/api/", description="Slack Web API base URL (a proxy or test server can stand in)."
    )
    prompts: list[str] = Field(
        default_factory=list,
        description='Suggested prompts shown when an assistant thread opens (a JSON list, e.g. ["What is the leave policy?"]); default: from the documents.',
    )
    bot_token: str = Field("", validation_alias=AliasChoices("SLACK_BOT_TOKEN", "ASSISTANT_SLACK_BOT_TOKEN"))
    app_token: str = Field("", validation_alias=AliasChoices("SLACK_APP_TOKEN", "ASSISTANT_SLACK_APP_TOKEN"))
    signing_secret: str = Field(
        "", validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "ASSISTANT_SLACK_SIGNING_SECRET")
    )
