"""Settings: typed objects read from `ASSISTANT_*` environment variables at the edge.

Grouped by concern, so each part receives only what it needs: the engine gets
`Settings` (with its `llm` group) and never sees what only serving needs (the state store,
workers, watching: `bots.settings.ServeSettings`) nor Slack's secrets
(`bots.slack.config.SlackSettings`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant import links
from index.chunking import DEFAULT_CHUNK_TOKENS
from index.embedding import DEFAULT_MODEL
from index.store import Server


class LlmSettings(BaseSettings):
    """An OpenAI-compatible LLM server (`ASSISTANT_LLM_*`); no base URL means extractive answers only."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_LLM_", extra="ignore")

    base_url: str | None = Field(
        None, description="e.g. http://localhost:11434/v1 (Ollama) or http://localhost:8080/v1 (llama.cpp)."
    )
    model: str = Field("local", description="Model name the server expects (Ollama needs one, e.g. llama3.2).")
    api_key: str | None = Field(None, description="Sent as a bearer token, if the server wants one.")
    timeout: float = Field(60.0, gt=0, description="Seconds to wait for the LLM before answering extractively.")
    max_tokens: int = Field(
        512, ge=16, le=8192, description="Longest draft, in tokens; a longer one is cut (and the answer says so)."
    )


class Settings(BaseSettings):
    """What the engine needs: the corpus, the index, the models, answering; built once by a front end."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="ignore")

    corpus: Path = Field(Path("corpus"), description="Folder of documents to answer from.")
    spaces: Path | None = Field(
        None, description="A spaces file (TOML): several folders, each with who may ask it; replaces the corpus."
    )
    data_dir: Path = Field(
        Path(".assistant"), description="Where the on-disk index, the BM25 cache, the log and the bot's state live."
    )
    chroma_url: str | None = Field(
        None,
        description="A Chroma server (http://host:port, or https://… for a managed one) instead of on-disk Chroma.",
    )
    chroma_token: str | None = Field(
        None, description="Token for a Chroma server that wants one (sent as X-Chroma-Token and as a bearer)."
    )
    chroma_tenant: str | None = Field(None, description="Chroma tenant on the server (default: Chroma's own).")
    chroma_database: str | None = Field(None, description="Chroma database on the server (default: Chroma's own).")
    embedding_model: str = Field(
        DEFAULT_MODEL, description="Sentence-transformers model: the packaged default, a folder, or a cached hub id."
    )
    embedding_backend: Literal["onnx", "torch"] = Field(
        "onnx",
        description="`onnx`: the model exported once to ONNX Runtime (checked against torch; falls back to it); `torch`: sentence-transformers.",
    )
    embedding_precision: Literal["int8", "fp32"] = Field(
        "int8",
        description="`int8`: the ONNX model quantised (about 1.7x faster to ingest, same answer quality, its own index); `fp32`: full precision (the only one with the torch backend).",
    )
    model_dir: Path | None = Field(
        None,
        description="Where the exported ONNX model is cached (default: DATA_DIR/models); several data dirs can share one.",
    )
    top_k: int = Field(5, ge=1, le=100, description="Chunks retrieved per question.")
    chunk_tokens: int = Field(DEFAULT_CHUNK_TOKENS, ge=16, le=512, description="Largest chunk, in model tokens.")
    min_score: float = Field(0.372, description="Abstain when the best evidence scores below this.")
    max_file_mb: float = Field(50, gt=0, description="Files larger than this are skipped (and reported).")
    max_sentences: int = Field(3, ge=1, le=20, description="Most sentences quoted in one extractive answer.")
    source_url: str | None = Field(
        None,
        description="Where people read a source: a URL template with {source}, {source_stem}, {page}, {start}, {end}; citations link to it.",
    )
    llm: LlmSettings = Field(default_factory=LlmSettings, description="The LLM server, if any (ASSISTANT_LLM_*).")

    @model_validator(mode="after")
    def _precision_fits_backend(self) -> Settings:
        if self.embedding_backend == "torch":
            if self.embedding_precision == "int8" and "embedding_precision" in self.model_fields_set:
                raise ValueError("ASSISTANT_EMBEDDING_PRECISION=int8 needs ASSISTANT_EMBEDDING_BACKEND=onnx")
            self.embedding_precision = "fp32"  # what torch runs; said so, since it keys the index
        return self

    @field_validator("source_url")
    @classmethod
    def _a_url_template(cls, value: str | None) -> str | None:
        why = links.problem(value) if value else ""
        if why:
            raise ValueError(why)
        return value

    @property
    def chroma_server(self) -> Server | None:
        """The Chroma server to use, if not on-disk Chroma."""
        if not self.chroma_url:
            return None
        return Server(self.chroma_url, self.chroma_token, self.chroma_tenant, self.chroma_database)
