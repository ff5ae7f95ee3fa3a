"""Shared fixtures: the real embedder (loaded once per session) and temp corpora."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BUNDLED = REPO / "corpus"
ARTICLE = "lapd-wont-help-deportations.txt"


@pytest.fixture(scope="session")
def embedder():
    from index.embedding import SentenceTransformerEmbedder

    emb = SentenceTransformerEmbedder()
    emb.embed(["warm up"])
    return emb


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A private copy of the bundled corpus, safe to edit."""
    root = tmp_path / "corpus"
    shutil.copytree(BUNDLED, root)
    return root


@pytest.fixture
def make_engine(tmp_path, embedder):
    """Build an Engine over a folder with a temp data dir and the shared real embedder."""
    from assistant.config import Settings
    from assistant.engine import Engine

    def make(root: Path, **overrides):
        settings = Settings(corpus=root, data_dir=tmp_path / "data", **overrides)
        return Engine(settings, embedder=embedder)

    return make
