"""Shared fixtures: the real embedder (loaded once per session) and temp corpora."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from data import BUNDLED
from processes import RUN_MARKER, kill_all, leftovers, mark_run, wait_for

RUN = ""  # this run's process marker, set before any fixture starts a process
WORKER = False  # an xdist worker (`pytest -n 2`), not the run itself


def pytest_configure(config):
    """Mark this run's processes. An xdist worker keeps the marker its controller set before
    starting it, so one check, the controller's, sees every process of the run once all are done;
    a pytest started inside a test (not a worker) gets a marker of its own."""
    global RUN, WORKER
    WORKER = hasattr(config, "workerinput")
    RUN = os.environ[RUN_MARKER] if WORKER and os.environ.get(RUN_MARKER) else mark_run()


def pytest_report_header(config):
    from api_server import FUZZ_EXAMPLES, FUZZ_SEED

    return f"hostile suite: Schemathesis seed {FUZZ_SEED}, {FUZZ_EXAMPLES} examples per operation (HOSTILE_SEED replays a run)"


def pytest_sessionfinish(session, exitstatus):
    """Fail the run, naming the command lines, if a process the suite started outlived its teardown
    (and kill it, so it holds no port or file for the next run). Under xdist only the controller
    looks, after every worker is done: a worker done early would take another's servers for leftovers."""
    if WORKER:
        return
    try:
        wait_for(lambda: not leftovers(RUN), "the suite's processes to exit", timeout=10, every=0.2)
        return
    except AssertionError:
        alive = leftovers(RUN)
    if not alive:
        return
    lines = [f"  pid {pid}: {command}" for pid, command in alive]
    print("\nprocesses started by the suite were still running after teardown:\n" + "\n".join(lines), file=sys.stderr)
    kill_all([pid for pid, _ in alive])
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session", autouse=True)
def model_dir(tmp_path_factory) -> Path:
    """One ONNX export for the whole session, shared with every `assistant` subprocess
    through ASSISTANT_MODEL_DIR (each test has its own data dir, and would export again)."""
    path = tmp_path_factory.mktemp("models")
    os.environ["ASSISTANT_MODEL_DIR"] = str(path)
    # Nor may the user's own assistant.toml (in their config dir) change what tests see.
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("config"))
    return path


@pytest.fixture(scope="session")
def embedder(model_dir):
    """The product's embedder: the packaged model on ONNX Runtime (exported on first use)."""
    from index.onnx_embedding import OnnxEmbedder

    emb = OnnxEmbedder(cache_dir=model_dir)
    emb.embed(["warm up"])
    assert emb.backend == "onnx"
    return emb


@pytest.fixture(scope="session")
def torch_embedder():
    """The same model through sentence-transformers, the reference the ONNX export must match."""
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


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory):
    """The real OpenAI-compatible server with the small packaged model (the `llm_server` tier);
    skipped, with the reason, when the `llm-test` extra is not installed."""
    import llm_server as real

    reason = real.missing()
    if reason:
        pytest.skip(reason)
    with real.LlamaServer(tmp_path_factory.mktemp("llama") / "server.log") as server:
        yield server


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for the session (initdb + pg_ctl in a temp dir); skipped, with
    the reason, only where no PostgreSQL binaries are installed."""
    from postgres import Postgres

    server = Postgres().start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request, tmp_path):
    """A fresh, empty state store of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/state.db"
    server = request.getfixturevalue("postgres")
    return server.new_database()
