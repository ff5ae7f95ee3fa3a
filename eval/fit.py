"""Fit the tuned numbers of retrieval, answering and abstention on the Normans questions only.

    python eval/fit.py [--data-dir DIR]

Prints each grid and the chosen values; the constants in index/search.py (PASSAGE_KEYWORD_WEIGHT,
SENTENCE_SHARE), the `Tuning` in assistant/answering/tuning.py (printed at the end, to paste
there) and the default ASSISTANT_MIN_SCORE were set from its output. It refits by handing
the engine new `Tuning`s, never by changing module globals.
The held-out Computational_complexity_theory questions are never looked at here.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from assistant.answering import candidates, select
from assistant.answering.question import ask_of, read
from assistant.answering.tuning import QUESTION_FEATURES, SENTENCE_FEATURES, Linear
from assistant.config import Settings
from assistant.engine import Engine
from assistant.evaluation import evaluate
from index.search import Weights

HERE = Path(__file__).resolve().parent / "squad2-small"
FIT_DOC = "Normans.txt"
FALSE_ABSTENTION_BUDGET = 0.04  # under the 0.05 target, with room for the held-out set
SUPPORT_MISS_BUDGET = 0.05  # supported claims the LLM check may wrongly drop
MAX_SENTENCES = 3  # most sentences one answer quotes; longer answers stop being read
RECALL_GIVEN = 0.025  # citation recall the adaptive length may give up for precision (2 of 96 questions)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="fit-"))
    engine = Engine(Settings(corpus=HERE / "corpus", data_dir=data_dir, min_score=-1.0))
    engine.sync()
    questions = [q for q in evaluate.load_questions(HERE / "questions.jsonl") if q.doc == FIT_DOC]
    answerable_qs = [q for q in questions if q.answerable]
    text_of = engine.text_of
    vectors = engine.embedder.embed([q.question for q in answerable_qs])

    print("retrieval on", FIT_DOC, "answerable:", len(answerable_qs))
    best = None
    for keyword in (0.0, 0.2, 0.4, 0.6):
        for share in (0.0, 0.5, 0.8, 1.0):
            w = Weights(keyword=keyword, sentence_share=share)
            ranks = [
                evaluate.retrieval_rank(
                    _hit_dicts(engine.index.search(q.question, 5, vector=v, weights=w)), q.doc, q.answers
                )
                for q, v in zip(answerable_qs, vectors, strict=True)
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
        for q, v in zip(answerable_qs, vectors, strict=True)
    }
    all_hits = {q.id: engine.index.search(q.question, 5, weights=weights) for q in questions}
    kw = fit_keyword(engine, answerable_qs, hits)
    # No refusals while the answer side is fitted.
    engine.tuning = replace(engine.tuning, keyword_weight=kw, answerable_threshold=0.0)
    engine.settings = engine.settings.model_copy(update={"max_sentences": MAX_SENTENCES})
    engine.tuning = replace(engine.tuning, sentence_model=fit_sentence_model(answerable_qs, hits, kw))
    print("sentence_model =", engine.tuning.sentence_model)
    ratio, beside = fit_keep_ratio(engine, answerable_qs, hits)
    engine.tuning = replace(engine.tuning, keep_ratio=ratio, neighbour_ratio=beside)

    # The topical floor: the 4 % quantile of the best quoted sentence's cosine on answerable questions.
    features = {q.id: _features(engine, q, all_hits[q.id]) for q in questions}
    best_dense = [features[q.id]["dense"] for q in answerable_qs]
    min_score = float(np.quantile(best_dense, FALSE_ABSTENTION_BUDGET))
    print(f"abstention: min_score {min_score:.3f} (the {FALSE_ABSTENTION_BUDGET:.0%} quantile of the best cosine)")
    model, threshold = fit_question_model(questions, features, min_score)
    engine.tuning = replace(engine.tuning, question_model=model, answerable_threshold=threshold)
    print("question_model =", model)
    print(f"answerable_threshold = {threshold:.3f}")
    engine.settings = engine.settings.model_copy(update={"min_score": min_score})
    final = [_answer(engine, q, all_hits[q.id]) for q in questions]
    m = evaluate.summarize(evaluate.judge(q, a, text_of) for q, a in zip(questions, final, strict=True))
    print(
        f"{FIT_DOC} with all of it: correctness {m['answer_correct']:.3f}, recall {m['citation_recall']:.3f}, "
        f"precision {m['citation_precision']:.3f}, unanswerable abstained {m['unanswerable_abstained']:.3f}, "
        f"false abstention {m['false_abstention']:.3f}"
    )
    fit_support(engine, answerable_qs, hits)
    print("TUNING =", engine.tuning)


def _answer(engine, q, hits):
    """The extractive answer to `q` from `hits`, with the engine's current tuning."""
    return engine.extract(read(q.question), hits).cited.answer


def _features(engine, q, hits) -> dict[str, float]:
    """The question model's features for `q` (all 0 when nothing was chosen)."""
    verdict = engine.extract(read(q.question), hits).decision.verdict
    return verdict.features if verdict else {n: 0.0 for n in QUESTION_FEATURES}


def fit_keyword(engine, questions, hits) -> float:
    """BM25's share in a sentence's first-order score: how often a gold sentence is among the
    top MAX_SENTENCES, the pool the sentence model then chooses from."""
    grid = {}
    for kw in (0.0, 0.2, 0.4, 0.6, 0.8):
        grid[kw] = float(np.mean([_gold_in(candidates.rank(hits[q.id], kw)[:MAX_SENTENCES], q) for q in questions]))
        print(f"  keyword {kw:.1f}: a gold sentence in the top {MAX_SENTENCES} for {grid[kw]:.3f}")
    kw = max(grid, key=lambda k: grid[k])
    print("chosen: ANSWER_KEYWORD_WEIGHT", kw)
    return kw


def _gold_in(ranked, q) -> bool:
    return any(_holds_gold(r.hit.sentence, q) for r in ranked)


def _holds_gold(sentence, q) -> bool:
    return sentence.source == q.doc and any(sentence.start <= a and a + len(t) <= sentence.end for t, a in q.answers)


def fit_sentence_model(questions, hits, kw) -> Linear:
    """P(sentence holds a gold answer) over every candidate sentence of the answerable questions."""
    rows, labels, groups = [], [], []
    for q in questions:
        ranked = candidates.rank(hits[q.id], kw)
        near = candidates.Neighbourhood(hits[q.id])
        for s in select.score(ask_of(q.question), ranked, near):
            rows.append([s.features[n] for n in SENTENCE_FEATURES])
            labels.append(_holds_gold(s.ranked.hit.sentence, q))
            groups.append(q.id)
    x, y = np.array(rows), np.array(labels, dtype=float)
    model = logistic(SENTENCE_FEATURES, x, y)
    chance = np.array([model.probability(dict(zip(model.names, r, strict=True))) for r in x])
    top1 = top3 = 0
    for qid in dict.fromkeys(groups):
        idx = [i for i, g in enumerate(groups) if g == qid]
        order = sorted(idx, key=lambda i: -chance[i])
        top1 += bool(y[order[0]])
        top3 += any(y[i] for i in order[:MAX_SENTENCES])
    n = len(questions)
    print(f"  sentence model: a gold sentence first for {top1 / n:.3f}, in the top {MAX_SENTENCES} for {top3 / n:.3f}")
    return model


def fit_keep_ratio(engine, questions, hits) -> tuple[float, float]:
    """The largest shares of the best sentence's chance a further sentence needs (and a neighbour
    of the best), that keep citation recall within RECALL_GIVEN of quoting the top MAX_SENTENCES:
    filler goes, answers stay."""
    grid = {}
    ratios = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 1.0)
    for ratio in ratios:
        for beside in [r for r in ratios if r <= ratio]:
            engine.tuning = replace(engine.tuning, keep_ratio=ratio, neighbour_ratio=beside)
            answers = [_answer(engine, q, hits[q.id]) for q in questions]
            m = evaluate.summarize(
                evaluate.judge(q, a, engine.text_of) for q, a in zip(questions, answers, strict=True)
            )
            grid[(ratio, beside)] = m
            print(
                f"  keep_ratio {ratio:.2f} neighbour {beside:.2f}: recall {m['citation_recall']:.3f} "
                f"correctness {m['answer_correct']:.3f} precision {m['citation_precision']:.3f}"
            )
    floor = grid[(0.0, 0.0)]["citation_recall"] - RECALL_GIVEN
    ok = [key for key, m in grid.items() if m["citation_recall"] >= floor - 1e-9]
    ratio, beside = max(ok, key=lambda key: (grid[key]["citation_precision"], key))
    print(
        f"chosen: KEEP_RATIO {ratio}, NEIGHBOUR_RATIO {beside} (recall at least {floor:.3f}, then the best precision)"
    )
    return ratio, beside


def fit_question_model(questions, features, min_score) -> tuple[Linear, float]:
    """P(the chosen sentences answer the question), over all questions that pass the topical floor;
    the threshold refuses FALSE_ABSTENTION_BUDGET of the answerable ones among them."""
    kept = [q for q in questions if features[q.id]["dense"] >= min_score]
    rows = np.array([[features[q.id][n] for n in QUESTION_FEATURES] for q in kept])
    labels = np.array([q.answerable for q in kept], dtype=float)
    model = logistic(QUESTION_FEATURES, rows, labels)
    chances = np.array([model.probability(dict(zip(model.names, r, strict=True))) for r in rows])
    threshold = float(np.quantile(chances[labels == 1], FALSE_ABSTENTION_BUDGET))
    refused = float(np.mean(chances[labels == 0] < threshold))
    print(f"  the question model refuses {refused:.3f} of the unanswerable questions above the floor")
    return model, threshold


def logistic(names, x: np.ndarray, y: np.ndarray, l2: float = 1e-3, steps: int = 4000) -> Linear:
    """L2-regularised logistic regression on standardised features, by gradient descent."""
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / scale
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        w -= 0.5 * (z.T @ (p - y) / len(y) + l2 * w)
        b -= 0.5 * float(np.mean(p - y))
    return Linear(
        tuple(names),
        tuple(round(float(v), 4) for v in mean),
        tuple(round(float(v), 4) for v in scale),
        tuple(round(float(v), 4) for v in w),
        round(b, 4),
    )


def fit_support(engine, answerable, hits) -> None:
    """Calibrate LLM-answer verification: a claim "question + gold answer" should be supported by
    the passage holding the gold answer, and not by the best-ranked passage that doesn't."""
    from assistant.answering.cite import Evidence
    from assistant.answering.claims import Claim, Passage, verify
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
