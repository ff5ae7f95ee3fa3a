"""Settings: typed objects read at the edge from flags, `ASSISTANT_*` environment variables,
a `.env` file and an `assistant.toml`, in that order of precedence (then the defaults).

Grouped by concern, so each part receives only what it needs: the engine gets
`Settings` (with its `llm` group) and never sees what only serving needs (the state store,
workers, watching: `bots.settings.ServeSettings`) nor Slack's secrets
(`bots.slack.config.SlackSettings`).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from assistant import links
from index.chunking import DEFAULT_CHUNK_TOKENS
from index.embedding import DEFAULT_MODEL
from index.store import Server

APP = "cited-assistant"  # the per-user folders' name (platformdirs)
CONFIG_FILE = "assistant.toml"
DOTENV = ".env"


def config_file() -> Path | None:
    """The settings file in use: `assistant.toml` in the working folder, else in the user's config dir."""
    import platformdirs

    for folder in (Path.cwd(), Path(platformdirs.user_config_dir(APP))):
        if (folder / CONFIG_FILE).is_file():
            return folder / CONFIG_FILE
    return None


def default_model_dir() -> Path:
    """The per-user model cache (exported and quantised models), shared by every folder and process."""
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP)) / "models"


class FileSettings(BaseSettings):
    """Settings that also come from `.env` and `assistant.toml` (its top level, or the table
    `toml_table` names). Precedence: flags (init values) > environment > `.env` > TOML > defaults."""

    toml_table: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = config_file()
        toml = TomlConfigSettingsSource(settings_cls, toml_file=path) if path else None
        if toml is not None and cls.toml_table:
            # The class's own table ([llm]), if the file has one.
            table = toml.toml_data.get(cls.toml_table[0])
            toml = (
                TomlConfigSettingsSource(settings_cls, toml_file=path, toml_table_header=cls.toml_table)
                if isinstance(table, dict)
                else None
            )
        if toml is None:
            return init_settings, env_settings, dotenv_settings
        return init_settings, env_settings, dotenv_settings, toml


class LlmSettings(FileSettings):
    """An OpenAI-compatible LLM server (`ASSISTANT_LLM_*`, `[llm]` in assistant.toml); no base URL means extractive answers only."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_LLM_", extra="ignore", env_file=DOTENV)
    toml_table: ClassVar[tuple[str, ...]] = ("llm",)

    base_url: str | None = Field(
        None, description="e.g. http://localhost:11434/v1 (Ollama) or http://localhost:8080/v1 (llama.cpp)."
    )
    model: str = Field("local", description="Model name the server expects (Ollama needs one, e.g. llama3.2).")
    api_key: str | None = Field(None, description="Sent as a bearer token, if the server wants one.")
    timeout: float = Field(60.0, gt=0, description="Seconds to wait for the LLM before answering extractively.")
    max_tokens: int = Field(
        512, ge=16, le=8192, description="Longest draft, in tokens; a longer one is cut (and the answer says so)."
    )


class Settings(FileSettings):
    """What the engine needs: the corpus, the index, the models, answering; built once by a front end."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="ignore", env_file=DOTENV)

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
        description="Where the exported ONNX models are cached (default: the user's cache dir, e.g. ~/.cache/cited-assistant/models), shared by every folder.",
    )
    top_k: int = Field(5, ge=1, le=100, description="Chunks retrieved per question.")
    chunk_tokens: int = Field(DEFAULT_CHUNK_TOKENS, ge=16, le=512, description="Largest chunk, in model tokens.")
    min_score: float = Field(
        0.372, ge=0, le=1, description="Abstain when the best evidence scores below this (a cosine)."
    )
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
    def models(self) -> Path:
        """Where exported models are cached: MODEL_DIR, else the per-user cache."""
        return self.model_dir or default_model_dir()

    @property
    def chroma_server(self) -> Server | None:
        """The Chroma server to use, if not on-disk Chroma."""
        if not self.chroma_url:
            return None
        return Server(self.chroma_url, self.chroma_token, self.chroma_tenant, self.chroma_database)
