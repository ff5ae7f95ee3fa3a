"""The other kind of reader the issue asked to measure: the packaged MiniLM fine-tuned as a
cross-encoder (question and sentence read together, the sentence's neighbours after a [SEP]),
on the same fit candidates as the shipped reader; measured on the check splits beside it.

    python eval/cross_encoder.py [--domains eval/domains] [--residual] [--epochs 2] [--limit N]

`--residual` adds the cross-encoder's output to the shipped reader's logit, so it learns only a
correction to the reader; without it the cross-encoder scores alone. Both read the reader's top
`--k` candidates of each question (plus, when training, the gold ones it left out).

Figures (2 cores; docs/quality.md "Model kinds"): on its own, one epoch, the cross-encoder
ranked worse than the reader in every domain (top-1 holds the answer, encyclopedia 0.821 ->
0.449, SQuAD held out 0.713 -> 0.234); as a residual, two epochs (37 min), it helped medicine
(0.711 -> 0.952), policy (0.327 -> 0.385) and our own set (0.767 -> 0.791) and hurt manuals
(0.726 -> 0.562) and conversational (0.917 -> 0.875), and at the fit threshold its best score
refused fewer unanswerable questions than the reader's. At six int8 passes a question (53 ms
on one thread) it would also cost more than the whole answer. Not shipped: the reader is kept.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import train_reader as tr

from assistant.answering.reader import OnnxReader, features

SEED = 7


def collect(root: Path, limit: int | None) -> list[dict]:
    """Every question's candidates: text, neighbours, label, the shipped reader's chance."""
    reader = OnnxReader()
    out, embedder = [], None
    data = Path(tempfile.mkdtemp(prefix="cross-"))
    for d in tr.domains(root):
        engine = tr.engine_for(d, data, embedder)
        embedder = engine.embedder
        for split, questions in (("fit", d.fit), ("check", d.check)):
            for q in questions[:limit] if limit else questions:
                g = tr.gathered(engine, q)
                allowed = g.candidates.allowed
                p = reader.probabilities(features(g.asked.ask, allowed, g.candidates.near))
                cands = [
                    {
                        "text": r.hit.sentence.text,
                        "context": g.candidates.near.context(r.hit.sentence.id),
                        "label": bool(y),
                        "prob": float(pi),
                    }
                    for r, y, pi in zip(allowed, g.labels, p, strict=True)
                ]
                out.append(
                    {"domain": d.name, "split": split, "answerable": q.answerable, "question": g.asked.ask.question}
                    | {"cands": sorted(cands, key=lambda c: -c["prob"])}
                )
    return out


def train(rows: list[dict], k: int, max_length: int, epochs: int, residual: bool, lr: float):  # type: ignore[no-untyped-def]
    import torch
    from transformers import AutoModel, AutoTokenizer

    from assistant.config import Settings
    from index.embedding import resolve_model_path

    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    folder = resolve_model_path(Settings().embedding_model)
    tok = AutoTokenizer.from_pretrained(folder)

    class CrossEncoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = AutoModel.from_pretrained(folder)
            self.head = torch.nn.Linear(self.bert.config.hidden_size, 1)

        def forward(self, question: str, cands: list[dict]) -> torch.Tensor:
            rest = [c["context"][len(c["text"]) :].strip() for c in cands]
            second = [c["text"] + (" [SEP] " + n if n else "") for c, n in zip(cands, rest, strict=True)]
            enc = tok([question] * len(cands), second, truncation="only_second", max_length=max_length)
            enc = tok.pad(enc, return_tensors="pt")
            h = self.bert(**enc).last_hidden_state
            m = enc["attention_mask"].unsqueeze(-1).float()
            out = self.head((h * m).sum(1) / m.sum(1)).squeeze(-1)
            if residual:
                out = out + torch.logit(torch.tensor([c["prob"] for c in cands]).clamp(1e-4, 1 - 1e-4))
            return out

    fit = [r for r in rows if r["split"] == "fit" and r["cands"]]
    per_domain = Counter(r["domain"] for r in fit)
    model = CrossEncoder()
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    steps = max(1, epochs * len(fit) // 4)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, s / 100) * max(0.0, 1 - s / steps))
    rng = np.random.default_rng(SEED)
    began = time.perf_counter()
    for epoch in range(epochs):
        order = rng.permutation(len(fit))
        for b in range(0, len(order), 4):  # four questions a step, each with its candidates
            loss = torch.zeros(())
            for i in order[b : b + 4]:
                r = fit[i]
                cands = r["cands"][:k]
                cands = cands + [c for c in r["cands"][k:] if c["label"]][:2]
                y = torch.tensor([float(c["label"]) for c in cands])
                logits = model(r["question"], cands)
                w = len(fit) / (len(per_domain) * per_domain[r["domain"]])  # each domain weighs the same
                loss = loss + w * tr.question_loss(logits, y) / 4
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
        print(f"epoch {epoch + 1} of {epochs}: {time.perf_counter() - began:.0f} s", flush=True)
    model.eval()
    return model


def auc(pos: list[float], neg: list[float]) -> float:
    if not pos or not neg:
        return float("nan")
    a, b = np.array(pos)[:, None], np.array(neg)[None]
    return float((a > b).mean() + 0.5 * (a == b).mean())


def compare(rows: list[dict], model, k: int) -> None:  # type: ignore[no-untyped-def]
    """Top-1 holds the answer (questions whose answer is among the top k) and the AUC of the
    best score for answerable against unanswerable questions: reader, then cross-encoder."""
    import torch

    torch.set_num_threads(1)
    timings = []
    with torch.no_grad():
        for r in rows:
            cands = r["cands"][:k]
            r["cross"] = []
            if cands:
                began = time.perf_counter()
                r["cross"] = list(torch.sigmoid(model(r["question"], cands)).numpy())
                timings.append(time.perf_counter() - began)
    print(f"\n{np.median(timings) * 1000:.0f} ms a question (fp32, one thread, {k} candidates)\n")
    print("| domain | top-1: reader | top-1: cross-encoder | AUC: reader | AUC: cross-encoder |\n|---|---|---|---|---|")
    for d in sorted({r["domain"] for r in rows}):
        mine = [r for r in rows if r["domain"] == d and r["split"] == "check" and r["cands"]]
        found = [r for r in mine if r["answerable"] and any(c["label"] for c in r["cands"][:k])]
        cells = []
        for score in (lambda r: [c["prob"] for c in r["cands"][:k]], lambda r: r["cross"]):
            top = np.mean([r["cands"][int(np.argmax(score(r)))]["label"] for r in found]) if found else float("nan")
            best = {id(r): max(score(r)) for r in mine}
            a = auc([best[id(r)] for r in mine if r["answerable"]], [best[id(r)] for r in mine if not r["answerable"]])
            cells.append((top, a))
        print(f"| {d} | {cells[0][0]:.3f} | {cells[1][0]:.3f} | {cells[0][1]:.3f} | {cells[1][1]:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", type=Path, default=tr.HERE / "domains")
    parser.add_argument("--k", type=int, default=6)
    parser.add_argument("--max-length", type=int, default=96)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--residual", action="store_true")
    parser.add_argument("--limit", type=int, default=None, help="questions per domain and split (a quick look)")
    args = parser.parse_args()
    rows = collect(args.domains, args.limit)
    model = train(rows, args.k, args.max_length, args.epochs, args.residual, args.lr)
    compare(rows, model, args.k)


if __name__ == "__main__":
    main()
