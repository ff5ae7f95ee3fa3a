"""The conversational evaluation: dialogues of 3-5 turns over the bundled article, each turn
with its gold evidence; citation hit per turn for questions asked alone, follow-ups resolved
by the rules, and rules + an LLM rewrite (a scripted perfect one, and a real model's when
--llm-url names an OpenAI-compatible server).

    python eval/dialogues.py [--llm-url http://127.0.0.1:8080/v1] [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from assistant.config import LlmSettings, Settings
from assistant.engine import Engine
from assistant.evaluation import evaluate
from assistant.llm.drafter import OpenAILikeDrafter

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent / "corpus"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--llm-url", help="an OpenAI-compatible server whose model rewrites the follow-ups")
    parser.add_argument("--llm-timeout", type=float, default=120.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    dialogues = evaluate.load_dialogues(HERE / "dialogues" / "dialogues.jsonl")
    engine = Engine(Settings(corpus=CORPUS, data_dir=Path(tempfile.mkdtemp(prefix="dialogues-"))))
    engine.sync()
    columns = {
        "alone": evaluate.run_dialogues(engine, dialogues, alone=True),
        "rules": evaluate.run_dialogues(engine, dialogues),
    }
    engine.rewriter = evaluate.ScriptedRewriter(dialogues)
    columns["rules + scripted rewrite"] = evaluate.run_dialogues(engine, dialogues)
    if args.llm_url:
        engine.rewriter = OpenAILikeDrafter(LlmSettings(base_url=args.llm_url, timeout=args.llm_timeout))
        columns["rules + model rewrite"] = evaluate.run_dialogues(engine, dialogues)
    if args.json:
        print(json.dumps(columns, indent=1))
        return
    rows = list(next(iter(columns.values())))
    counts = {f"turn {i}": sum(len(d.turns) >= i for d in dialogues) for i in range(1, 6)}
    counts["all"] = sum(len(d.turns) for d in dialogues)
    print("| citation hit | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for row in rows:
        print(f"| {row} ({counts[row]}) | " + " | ".join(f"{c[row]:.3f}" for c in columns.values()) + " |")


if __name__ == "__main__":
    main()
