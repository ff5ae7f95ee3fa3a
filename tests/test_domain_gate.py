"""The quality gate across kinds of document: the `check` split of every domain of
eval/domains (built by eval/build_domains.py; not in the repository, see its README), a fast
subset of each, through the real engine. A change that helps one domain and breaks another
fails here, naming the domain.

The domains are read from ../shared/eval/domains when the steering repo provides them, else
from eval/domains; with neither, the module is skipped and says why.
"""

from __future__ import annotations

import math

import pytest

from assistant.evaluation import evaluate

from data import REPO

pytestmark = pytest.mark.slow

PLACES = [REPO.parent / "shared" / "eval" / "domains", REPO / "eval" / "domains"]
ROOT = next((p for p in PLACES if p.is_dir() and evaluate.domains_in(p)), None)
if ROOT is None:
    pytest.skip("no domains built (python eval/build_domains.py, see eval/domains/README.md)", allow_module_level=True)
DOMAINS = evaluate.domains_in(ROOT)
SUBSET = 60  # check questions per domain: about a minute in all

# Per domain: (most answerable questions refused, least unanswerable refused, least gold cited
# when retrieved in the top 5), below the figures measured on this subset (in comments: on
# 2026-12-03's install, then in brackets where the same code measured otherwise on the first
# machine; the embedding export and Chroma's near-tie order differ a little between installs).
# Policy has 23 questions with the gold in the top 5, so one citation moves it by 0.04.
BOUNDS = {
    "conversational": (0.06, 0.05, 0.85),  # 0.044, 0.067, 0.900 (0.022, 0.067, 0.950)
    "encyclopedia": (0.17, 0.55, 0.75),  # 0.149, 0.615, 0.787 (0.128, 0.615, 0.809)
    "manuals": (0.03, math.nan, 0.75),  # 0.000, -, 0.846 (0.000, -, 0.792)
    "medicine": (0.03, math.nan, 0.74),  # 0.000, 0.000 (of 5: no floor to hold), 0.774 (0.769)
    "policy": (0.03, math.nan, 0.12),  # 0.000, -, 0.174 (0.240)
    # Built by eval/build_domains.py legal and pdfs; held from when ../shared has them. 2026-12-05,
    # with clause numbers out of sentences: legal 0.017, -, 0.923 (0.000, -, 0.157 before);
    # pdfs 0.033, -, 0.755 (0.033, -, 0.333 before). With sections, furniture and whole quotes
    # (issue 38): legal 0.017, -, 0.887; pdfs 0.033, -, 0.839; conversational 0.022, 0.067, 0.925.
    "legal": (0.05, math.nan, 0.85),
    "pdfs": (0.06, math.nan, 0.78),
}


@pytest.fixture(scope="module")
def figures(tmp_path_factory, embedder):
    from assistant.config import Settings
    from assistant.engine import Engine

    data = tmp_path_factory.mktemp("domains")
    out = {}
    for name, folder in DOMAINS.items():
        engine = Engine(Settings(corpus=folder / evaluate.CORPUS, data_dir=data), embedder=embedder)
        engine.sync()
        questions = [q for q in evaluate.load_questions(folder / evaluate.QUESTIONS) if q.split == "check"]
        groups, _ = evaluate.run(engine, questions[:SUBSET])
        out[name] = groups["all"]
    print("\n" + evaluate.domain_table(out))
    return out


@pytest.mark.parametrize("domain", sorted(BOUNDS))
def test_each_domain_holds_its_bounds(figures, domain):
    if domain not in figures:
        pytest.skip(f"{domain} is not built in {ROOT}")
    refused, unanswerable, cited = BOUNDS[domain]
    m = figures[domain]
    assert m["citation_validity"] == 1.0, m
    assert m["false_abstention"] <= refused, (domain, "answerable refused", m["false_abstention"])
    if not math.isnan(unanswerable) and not math.isnan(m["unanswerable_abstained"]):
        assert m["unanswerable_abstained"] >= unanswerable, (
            domain,
            "unanswerable refused",
            m["unanswerable_abstained"],
        )
    assert m["cited_if_retrieved"] >= cited, (domain, "cited if in top 5", m["cited_if_retrieved"])
