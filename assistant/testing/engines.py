"""The pytest plugin's engines: one per corpus for the whole session, shared by the `ask`
fixture and the answer cases (both modules import this one; neither imports the other)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from assistant.engine import Engine

CORPUS_OPTION = "assistant_corpus"
LLM_MARKER = "assistant_llm"
ENGINES = pytest.StashKey[dict[Path, "Engine"]]()


def configured_corpus(config: pytest.Config) -> Path | None:
    """The corpus from `--assistant-corpus` (relative to where pytest runs) or the ini option
    (relative to the ini file)."""
    option = config.getoption("--assistant-corpus")
    if option:
        return Path(option).resolve()
    value = str(config.getini(CORPUS_OPTION) or "")
    if not value:
        return None
    base = config.inipath.parent if config.inipath else config.rootpath
    return (base / value).resolve()


def engine_for(config: pytest.Config, corpus: Path) -> Engine:
    """One engine per corpus for the whole session, synced the first time it is asked for."""
    engines = config.stash[ENGINES]
    if corpus not in engines:
        from assistant.config import Settings
        from assistant.engine import Engine

        engine = Engine(Settings(corpus=corpus))
        engine.sync(wait=True)
        engines[corpus] = engine
    return engines[corpus]
