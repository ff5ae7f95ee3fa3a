"""Settings: one typed object, read from `ASSISTANT_*` environment variables at the edge."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.embedding import DEFAULT_MODEL


class Settings(BaseSettings):
    """Everything tunable; built once by a front end and passed down."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="ignore")

    corpus: Path = Field(Path("corpus"), description="Folder of documents to answer from.")
    data_dir: Path = Field(Path(".assistant"), description="Where the on-disk index, the BM25 cache and the log live.")
    chroma_url: str | None = Field(None, description="A `chroma run` server (http://host:port) instead of on-disk Chroma.")
    embedding_model: str = Field(DEFAULT_MODEL, description="Sentence-transformers model: the packaged default, a folder, or a cached hub id.")
    embedding_backend: Literal["onnx", "torch"] = Field("onnx", description="`onnx`: the model exported once to ONNX Runtime (checked against torch; falls back to it); `torch`: sentence-transformers.")
    model_dir: Path | None = Field(None, description="Where the exported ONNX model is cached (default: DATA_DIR/models); several data dirs can share one.")
    top_k: int = Field(5, ge=1, le=100, description="Chunks retrieved per question.")
    chunk_tokens: int = Field(200, ge=16, le=512, description="Largest chunk, in model tokens.")
    min_score: float = Field(0.372, description="Abstain when the best evidence scores below this.")
    max_file_mb: float = Field(50, gt=0, description="Files larger than this are skipped (and reported).")
    max_sentences: int = Field(3, ge=1, le=20, description="Most sentences quoted in one extractive answer.")

    # Slack: the token names are Slack's own, so they are read without the prefix too.
    slack_api_url: str = Field("https://slack.com/api/", description="Slack Web API base URL (a proxy or test server can stand in).")
    slack_bot_token: str = Field("", validation_alias=AliasChoices("SLACK_BOT_TOKEN", "ASSISTANT_SLACK_BOT_TOKEN"))
    slack_app_token: str = Field("", validation_alias=AliasChoices("SLACK_APP_TOKEN", "ASSISTANT_SLACK_APP_TOKEN"))
    slack_signing_secret: str = Field("", validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "ASSISTANT_SLACK_SIGNING_SECRET"))

    # An OpenAI-compatible LLM server; unset means extractive answers only.
    llm_base_url: str | None = Field(None, description="e.g. http://localhost:11434/v1 (Ollama) or http://localhost:8080/v1 (llama.cpp).")
    llm_model: str = Field("local", description="Model name the server expects (Ollama needs one, e.g. llama3.2).")
    llm_api_key: str | None = Field(None, description="Sent as a bearer token, if the server wants one.")
    llm_timeout: float = Field(60.0, gt=0, description="Seconds to wait for the LLM before answering extractively.")
