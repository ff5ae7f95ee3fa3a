"""The fast paths: the fp32 ONNX export agrees with torch, is reused from its cache, and
anything wrong with it falls back to torch; the int8 model (the default) stays close to
fp32, gives a text the same vector alone or in a batch, keys its own index, and fails
loudly instead of falling back; a one-shot `assistant ask` that never imports torch still
answers with the right citation."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from index import onnx_embedding
from index.errors import ModelError
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


@pytest.fixture(scope="module")
def fp32(model_dir, embedder):
    """The unquantised export (made on the way to the session's int8 model)."""
    emb = OnnxEmbedder(cache_dir=model_dir, precision="fp32")
    emb.embed(["warm up"])
    return emb


def test_onnx_agrees_with_torch(fp32, torch_embedder):
    embedder = fp32
    texts = sample_texts()
    fast, ref = embedder.embed(texts), torch_embedder.embed(texts)
    assert embedder.backend == "onnx" and embedder.name == torch_embedder.name
    assert fast.shape == ref.shape == (len(texts), 384)
    cosines = (fast * ref).sum(axis=1)
    assert cosines.min() >= 0.999, texts[int(cosines.argmin())]
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    # One text alone (no padding) and the same text in a padded batch give the same vector.
    assert float(embedder.embed([texts[3]])[0] @ fast[3]) >= 0.99999


def test_int8_stays_close_to_fp32_and_gives_a_text_one_vector(embedder, fp32):
    texts = sample_texts()
    quantised, full = embedder.embed(texts), fp32.embed(texts)
    cosines = (quantised * full).sum(axis=1)
    assert cosines.mean() >= 0.98 and cosines.min() >= 0.95, (cosines.mean(), texts[int(cosines.argmin())])
    assert np.allclose(np.linalg.norm(quantised, axis=1), 1.0, atol=1e-5)
    # Alone or among others, the same vector: a question matches its own sentence exactly.
    for i in (0, 3, len(texts) - 2):
        assert np.array_equal(embedder.embed([texts[i]])[0], quantised[i])
    # Different vectors, different index.
    from index.corpus import CorpusIndex

    assert embedder.name == f"{fp32.name}:int8"
    assert CorpusIndex(BUNDLED, REPO, embedder).key != CorpusIndex(BUNDLED, REPO, fp32).key


def test_onnx_counts_tokens_like_torch(embedder, torch_embedder):
    texts = sample_texts()
    assert embedder.count_tokens(texts) == torch_embedder.count_tokens(texts)


def test_the_export_is_cached_and_reused(model_dir, embedder, fp32):
    exported = sorted(model_dir.glob("*.onnx"))
    assert sorted(p.name.endswith("-int8.onnx") for p in exported) == [False, True]  # the fp32 export, its int8 twin
    stamps = [p.stat().st_mtime_ns for p in exported]
    for precision in ("int8", "fp32"):
        again = OnnxEmbedder(cache_dir=model_dir, precision=precision)
        again.embed(["hello"])
        assert again.backend == "onnx"
    assert [p.stat().st_mtime_ns for p in sorted(model_dir.glob("*.onnx"))] == stamps


def test_an_export_that_disagrees_is_refused(tmp_path, monkeypatch, torch_embedder):
    monkeypatch.setattr(onnx_embedding, "AGREEMENT", 1.01)  # no export can pass this
    texts = ["Chief Beck spoke about Homeland Security.", "short"]
    with pytest.raises(ModelError, match="ASSISTANT_EMBEDDING_PRECISION=fp32"):
        OnnxEmbedder(cache_dir=tmp_path / "models").embed(texts)  # int8 vectors or none, never others
    emb = OnnxEmbedder(cache_dir=tmp_path / "models", precision="fp32")
    vectors = emb.embed(texts)
    assert emb.backend == "torch"  # fp32: torch gives the same vectors, slower
    assert list((tmp_path / "models").iterdir()) == []  # nothing half-written is left to be reused
    assert np.allclose(vectors, torch_embedder.embed(texts), atol=1e-6)


def test_a_quantisation_that_disagrees_is_an_error(tmp_path, monkeypatch, model_dir, fp32):
    monkeypatch.setattr(onnx_embedding, "INT8_AGREEMENT", 1.01)
    models = tmp_path / "models"
    models.mkdir()
    for f in model_dir.glob("*.onnx"):
        if not f.name.endswith("-int8.onnx"):
            (models / f.name).write_bytes(f.read_bytes())
    with pytest.raises(ModelError, match=r"cannot quantise .* disagrees with fp32"):
        OnnxEmbedder(cache_dir=models).embed(["hello"])
    assert [f.name.endswith("-int8.onnx") for f in models.iterdir()] == [False]


def test_an_unwritable_cache_falls_back_to_torch_in_fp32_only(tmp_path, torch_embedder):
    blocker = tmp_path / "models"
    blocker.write_text("a file where the cache folder should be")
    emb = OnnxEmbedder(cache_dir=blocker, precision="fp32")
    vectors = emb.embed(["hello world"])
    assert emb.backend == "torch"
    assert np.allclose(vectors, torch_embedder.embed(["hello world"]), atol=1e-6)
    with pytest.raises(ModelError, match="cannot run all-MiniLM-L6-v2 in int8"):
        OnnxEmbedder(cache_dir=blocker).embed(["hello world"])


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


def _quantise_together(models: str, barrier, results) -> None:
    """One of several processes that find the fp32 export and quantise it at the same moment."""
    from pathlib import Path

    barrier.wait()
    try:
        emb = OnnxEmbedder(cache_dir=Path(models))
        emb.embed(["hello"])
        results.put("ok" if emb.backend == "onnx" else emb.backend)
    except Exception as exc:  # noqa: BLE001 - reported to the test, which names it
        results.put(f"{type(exc).__name__}: {exc}")


def test_processes_quantising_into_one_cache_at_once_all_get_the_model(tmp_path, model_dir, fp32):
    """Replicas starting together on a new model cache all quantise the fp32 export at once; none
    may trip over another's temporary files (quantize_dynamic's "-inferred.onnx" was one)."""
    import multiprocessing

    models = tmp_path / "models"
    models.mkdir()
    for f in model_dir.glob("*.onnx"):
        if not f.name.endswith("-int8.onnx"):
            (models / f.name).write_bytes(f.read_bytes())
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(3), context.Queue()
    workers = [context.Process(target=_quantise_together, args=(str(models), barrier, results)) for _ in range(3)]
    for w in workers:
        w.start()
    try:
        outcomes = [results.get(timeout=300) for _ in workers]
    finally:
        for w in workers:
            w.join(timeout=60)
            if w.is_alive():
                w.kill()
    assert outcomes == ["ok"] * 3
    assert sorted(f.name.endswith("-int8.onnx") for f in models.iterdir()) == [False, True]  # no temporary left
