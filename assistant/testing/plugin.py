"""A pytest plugin: check that your documents still answer what they should.

Loaded whenever this package is installed (the `pytest11` entry point). Importing it does
nothing heavy: the engine (and its model) loads on first use by a test. It brings

- the fixtures `assistant_engine` (one engine per session, over the corpus named by the ini
  option `assistant_corpus` or `--assistant-corpus`, synced once) and `ask(question) -> Answer`;
- answer cases without Python: every `*.answers.yml` / `*.answers.yaml` in the test paths
  is collected, one test per case (see `assistant.testing.cases`);
- assertion rewriting for `assistant.testing.asserts` (`assert_cites`, `assert_abstains`, …).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from assistant.engine import Engine
    from assistant.types import Answer

pytest.register_assert_rewrite("assistant.testing.asserts")

from assistant.testing.engines import CORPUS_OPTION, ENGINES, LLM_MARKER, configured_corpus, engine_for  # noqa: E402


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("assistant", "cited-answer assistant")
    group.addoption("--assistant-corpus", help="folder of documents the `ask` fixture and answer files answer from")
    parser.addini(CORPUS_OPTION, "folder of documents to answer from (relative to the ini file)", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{LLM_MARKER}: runs only when an LLM is configured (ASSISTANT_LLM_BASE_URL)")
    config.stash[ENGINES] = {}


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.name.endswith((".answers.yml", ".answers.yaml")):
        from assistant.testing.cases import AnswersFile

        return AnswersFile.from_parent(parent, path=file_path)
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker(LLM_MARKER) and not _llm_configured():
        pytest.skip("needs an LLM: set ASSISTANT_LLM_BASE_URL")


@pytest.fixture(scope="session")
def assistant_engine(pytestconfig: pytest.Config) -> Iterator[Engine]:
    """The engine over the configured corpus (`assistant_corpus` in the ini file, or --assistant-corpus)."""
    corpus = configured_corpus(pytestconfig)
    if corpus is None:
        raise pytest.UsageError(
            f"no corpus for the assistant: set `{CORPUS_OPTION}` in the ini file or pass --assistant-corpus"
        )
    yield engine_for(pytestconfig, corpus)


@pytest.fixture
def ask(assistant_engine: Engine) -> Callable[[str], Answer]:
    """`ask(question)`: the answer from the configured corpus, as `assistant ask` would give it."""

    def answer(question: str) -> Answer:
        return assistant_engine.answer(question)

    return answer


def _llm_configured() -> bool:
    from assistant.config import LlmSettings

    return bool(LlmSettings().base_url)
