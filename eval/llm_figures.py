"""LLM mode on the held-out SQuAD article, against a real OpenAI-compatible server: how often the
answer is the model's (verified) rather than the quotes, the share of its sentences dropped,
citation validity, and seconds per answer.

    python eval/llm_figures.py --llm-url http://127.0.0.1:8080/v1 [--n 20]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from assistant.answering import claims
from assistant.config import LlmSettings, Settings
from assistant.engine import Engine
from assistant.evaluation import evaluate

HERE = Path(__file__).resolve().parent / "squad2-small"
HELD_OUT = "Computational_complexity_theory.txt"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--llm-url", required=True)
    parser.add_argument("--n", type=int, default=20, help="questions, answerable ones first, in file order")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    llm = LlmSettings(base_url=args.llm_url, timeout=args.timeout)
    data_dir = Path(tempfile.mkdtemp(prefix="llm-figures-"))
    engine = Engine(Settings(corpus=HERE / "corpus", data_dir=data_dir, llm=llm))
    engine.sync()
    questions = [q for q in evaluate.load_questions(HERE / "questions.jsonl") if q.doc == HELD_OUT]
    sample = ([q for q in questions if q.answerable] + [q for q in questions if not q.answerable])[: args.n]
    rows = []
    for q in sample:
        began = time.perf_counter()
        answer = engine.answer(q.question)
        seconds = time.perf_counter() - began
        verdict = evaluate.judge(q, answer, engine.text_of)
        drafted = len(claims.parse(answer.trace.draft.text)) if answer.trace.draft else 0
        rows.append((answer, verdict, seconds, drafted))
        print(f"{seconds:5.1f} s  {answer.mode:10}  {q.question[:70]}", flush=True)
    n = len(rows)
    cites = sum(v["citations"] for _, v, _, _ in rows)
    valid = sum(v["valid_citations"] for _, v, _, _ in rows)
    dropped = sum(len(a.dropped) for a, _, _, _ in rows)
    drafted = sum(d for *_, d in rows)
    print(f"\n{n} questions; LLM mode {sum(a.mode == 'llm' for a, *_ in rows) / n:.2f}")
    print(f"sentences dropped {dropped} of {drafted} drafted ({dropped / max(drafted, 1):.2f})")
    print(f"citation validity {valid}/{cites}; crashes 0; every answer has a mode")
    print(f"LLM errors: {sorted({a.llm_error for a, *_ in rows if a.llm_error}) or 'none'}")
    print(f"drafts cut: {sum(bool(a.draft_cut) for a, *_ in rows)}")
    secs = sorted(s for _, _, s, _ in rows)
    print(f"seconds per answer: mean {sum(secs) / n:.1f}, median {secs[n // 2]:.1f}, max {secs[-1]:.1f}")
    answerable = [v for _, v, _, _ in rows if v["answerable"]]
    if answerable:
        print(
            f"answer correctness on the {len(answerable)} answerable: {sum(v['correct'] for v in answerable) / len(answerable):.2f}"
        )


if __name__ == "__main__":
    main()
