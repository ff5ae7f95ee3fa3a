"""The fast paths give the same results: the ONNX export agrees with torch, it is reused
from its cache, anything wrong with it falls back to torch, and a one-shot `assistant ask`
that never imports torch still answers with the right citation."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from index import onnx_embedding
from index.onnx_embedding import OnnxEmbedder

from data import ARTICLE, BUNDLED, REPO

pytestmark = pytest.mark.slow


def sample_texts() -> list[str]:
    """Real text of many lengths: the article's sentences, eval questions, a long paragraph (truncated)."""
    from index.sentences import split

    article = (BUNDLED / ARTICLE).read_text(encoding="utf-8")
    sentences = [article[s:e] for s, e in split(article)]
    questions = [json.loads(line)["question"] for line in (REPO / "eval/squad2-small/questions.jsonl").open()][:60]
    return sentences + questions + ["", "a", article[:4000], "naïve café — 東京 🙂"]


def test_onnx_agrees_with_torch(embedder, torch_embedder):
    texts = sample_texts()
    fast, ref = embedder.embed(texts), torch_embedder.embed(texts)
    assert embedder.backend == "onnx"
    assert fast.shape == ref.shape == (len(texts), 384)
    cosines = (fast * ref).sum(axis=1)
    assert cosines.min() >= 0.999, texts[int(cosines.argmin())]
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    # One text alone (no padding) and the same text in a padded batch give the same vector.
    assert float(embedder.embed([texts[3]])[0] @ fast[3]) >= 0.99999


def test_onnx_counts_tokens_like_torch(embedder, torch_embedder):
    texts = sample_texts()
    assert embedder.count_tokens(texts) == torch_embedder.count_tokens(texts)


def test_the_export_is_cached_and_reused(model_dir, embedder):
    exported = list(model_dir.glob("*.onnx"))
    assert len(exported) == 1
    stamp = exported[0].stat().st_mtime_ns
    again = OnnxEmbedder(cache_dir=model_dir)
    again.embed(["hello"])
    assert again.backend == "onnx"
    assert [p.stat().st_mtime_ns for p in model_dir.glob("*.onnx")] == [stamp]


def test_an_export_that_disagrees_is_refused_and_torch_is_used(tmp_path, monkeypatch, torch_embedder):
    monkeypatch.setattr(onnx_embedding, "AGREEMENT", 1.01)  # no export can pass this
    emb = OnnxEmbedder(cache_dir=tmp_path / "models")
    texts = ["Chief Beck spoke about Homeland Security.", "short"]
    vectors = emb.embed(texts)
    assert emb.backend == "torch"
    assert list((tmp_path / "models").iterdir()) == []  # nothing half-written is left to be reused
    assert np.allclose(vectors, torch_embedder.embed(texts), atol=1e-6)


def test_an_unwritable_cache_falls_back_to_torch(tmp_path, torch_embedder):
    blocker = tmp_path / "models"
    blocker.write_text("a file where the cache folder should be")
    emb = OnnxEmbedder(cache_dir=blocker)
    vectors = emb.embed(["hello world"])
    assert emb.backend == "torch"
    assert np.allclose(vectors, torch_embedder.embed(["hello world"]), atol=1e-6)


def test_one_shot_ask_answers_without_torch_or_llama_index(tmp_path, model_dir, embedder):
    """The cold path imports neither torch, transformers, sentence-transformers nor llama-index,
    and still answers with the exact quote."""
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_CORPUS": str(BUNDLED),
        "ASSISTANT_MODEL_DIR": str(model_dir),
        "HF_HUB_OFFLINE": "1",
    }
    ingest = subprocess.run(
        [sys.executable, "-m", "bots.cli", "ingest"], env=env, capture_output=True, text=True, timeout=300
    )
    assert ingest.returncode == 0, ingest.stderr
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['assistant', 'ask', '--json', 'What did Chief Beck say about working with Homeland Security?']\n"
        "try:\n"
        "    runpy.run_module('bots.cli', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'sentence_transformers', 'llama_index', 'nltk')"
        " if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert run.returncode == 0, run.stderr
    answer_line, heavy_line = run.stdout.strip().splitlines()[-2:]
    assert heavy_line == "HEAVY []"
    answer = json.loads(answer_line)
    assert not answer["abstained"]
    quotes = [c["quote"] for c in answer["citations"]]
    assert any(
        "We are not going to work in conjunction with Homeland Security on deportation efforts." in q for q in quotes
    )
    text = (BUNDLED / ARTICLE).read_text(encoding="utf-8")
    for c in answer["citations"]:
        assert text[c["start"] : c["end"]] == c["quote"]
