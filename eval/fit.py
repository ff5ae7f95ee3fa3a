"""Fit the tuned numbers of retrieval, answering and abstention on the Normans questions only.

    python eval/fit.py [--data-dir DIR]

Prints each grid and the chosen values; the constants in index/search.py (PASSAGE_KEYWORD_WEIGHT,
SENTENCE_SHARE), assistant/extractive.py (ANSWER_KEYWORD_WEIGHT, MARGIN) and the default
ASSISTANT_MIN_SCORE were set from its output.
The held-out Computational_complexity_theory questions are never looked at here.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from pathlib import Path

import numpy as np

from assistant import evaluate
from assistant.config import Settings
from assistant.engine import Engine
from index.search import Weights

HERE = Path(__file__).resolve().parent / "squad2-small"
FIT_DOC = "Normans.txt"
FALSE_ABSTENTION_BUDGET = 0.04  # under the 0.05 target, with room for the held-out set
SUPPORT_MISS_BUDGET = 0.05  # supported claims the LLM check may wrongly drop
MAX_SENTENCES = 3  # most sentences one answer quotes; longer answers stop being read


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="fit-"))
    engine = Engine(Settings(corpus=HERE / "corpus", data_dir=data_dir, min_score=-1.0))
    engine.sync()
    questions = [q for q in evaluate.load_questions(HERE / "questions.jsonl") if q.doc == FIT_DOC]
    answerable = [q for q in questions if q.answerable]
    text_of = engine.text_of
    vectors = engine.embedder.embed([q.question for q in answerable])

    print("retrieval on", FIT_DOC, "answerable:", len(answerable))
    best = None
    for keyword in (0.0, 0.2, 0.4, 0.6):
        for share in (0.0, 0.5, 0.8, 1.0):
            w = Weights(keyword=keyword, sentence_share=share)
            ranks = [
                evaluate.retrieval_rank(
                    _hit_dicts(engine.index.search(q.question, 5, vector=v, weights=w)), q.doc, q.answers
                )
                for q, v in zip(answerable, vectors, strict=True)
            ]
            mrr = float(np.mean([1 / r if r else 0 for r in ranks]))
            hit5 = float(np.mean([r is not None for r in ranks]))
            print(f"  keyword {keyword:.1f} sentence_share {share:.1f}: MRR {mrr:.3f} hit@5 {hit5:.3f}")
            if best is None or mrr > best[0]:
                best = (mrr, w)
    weights = best[1]
    print("chosen:", weights)

    hits = {
        q.id: engine.index.search(q.question, 5, vector=v, weights=weights)
        for q, v in zip(answerable, vectors, strict=True)
    }
    print("answers (citation recall / correctness / citation precision) by sentences quoted, BM25 weight, margin")
    grid = {}
    for n, kw, margin in itertools.product((1, 2, 3, 4, 5), (0.0, 0.2, 0.4, 0.6), (0.1, 0.2, 0.3, 1.0)):
        engine.settings = engine.settings.model_copy(update={"max_sentences": n})
        answers = [engine.compose(q.question, hits[q.id], keyword_weight=kw, margin=margin) for q in answerable]
        m = evaluate.summarize(evaluate.judge(q, a, text_of) for q, a in zip(answerable, answers, strict=True))
        grid[(n, kw, margin)] = m
        print(
            f"  sentences {n} keyword {kw:.1f} margin {margin:.1f}: "
            f"{m['citation_recall']:.3f} / {m['answer_correct']:.3f} / {m['citation_precision']:.3f}"
        )
    # Users read every quoted sentence, so at most MAX_SENTENCES (a product choice, not a fit);
    # within that, the best citation recall, then the best precision.
    fit = [((m["citation_recall"], m["citation_precision"]), key) for key, m in grid.items() if key[0] <= MAX_SENTENCES]
    n, kw, margin = max(fit)[1]
    m = grid[(n, kw, margin)]
    print(
        f"chosen: max_sentences {n}, keyword {kw}, margin {margin}: recall {m['citation_recall']:.3f}, "
        f"correctness {m['answer_correct']:.3f}, precision {m['citation_precision']:.3f}"
    )

    engine.settings = engine.settings.model_copy(update={"max_sentences": n})
    best_dense = []
    for q in answerable:
        answer = engine.compose(q.question, hits[q.id], keyword_weight=kw, margin=margin)
        top = answer.trace["sentences"]
        best_dense.append(top[0]["dense"] if top else 0.0)
    threshold = float(np.quantile(best_dense, FALSE_ABSTENTION_BUDGET))
    print(
        f"abstention: min_score {threshold:.3f} (the {FALSE_ABSTENTION_BUDGET:.0%} quantile of the top sentence's cosine on answerable)"
    )
    unanswerable = [q for q in questions if not q.answerable]
    engine.settings = engine.settings.model_copy(update={"min_score": threshold})
    abstained = np.mean([engine.answer(q.question).abstained for q in unanswerable])
    print(f"  unanswerable {FIT_DOC} questions abstained at that threshold: {abstained:.3f}")
    fit_support(engine, answerable, hits)


def fit_support(engine, answerable, hits) -> None:
    """Calibrate LLM-answer verification: a claim "question + gold answer" should be supported by
    the passage holding the gold answer, and not by the best-ranked passage that doesn't."""
    from assistant.citations import Evidence
    from assistant.verify import Claim, Passage, verify
    from index.chunking import sentences_of

    def score(claim, hit):
        passage = Passage(
            1,
            hit.chunk.source,
            hit.chunk.text,
            tuple(Evidence(s.source, s.start, s.end, s.text, 0.0) for s in sentences_of(hit.chunk)),
        )
        kept = verify([Claim(claim, (1,))], [passage], engine.similarity, threshold=-1.0).kept
        return kept[0][1][0].score if kept else 0.0

    positives, negatives = [], []
    for q in answerable:
        text, start = q.answers[0]
        claim = f"{q.question.rstrip('?')} {text}."
        gold = [h for h in hits[q.id] if h.chunk.source == q.doc and h.chunk.start <= start < h.chunk.end]
        other = [h for h in hits[q.id] if h not in gold]
        if gold and other:
            positives.append(score(claim, gold[0]))
            negatives.append(score(claim, other[0]))
    threshold = float(np.quantile(positives, SUPPORT_MISS_BUDGET))
    rejected = float(np.mean([n < threshold for n in negatives]))
    print(
        f"support: SUPPORT_THRESHOLD {threshold:.3f} keeps {1 - SUPPORT_MISS_BUDGET:.0%} of {len(positives)} "
        f"supported claims and rejects {rejected:.3f} of the same claims cited to the wrong passage"
    )


def _hit_dicts(hits):
    return [{"source": h.chunk.source, "start": h.chunk.start, "end": h.chunk.end} for h in hits]


if __name__ == "__main__":
    main()
