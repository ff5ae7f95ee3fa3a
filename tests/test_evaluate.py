"""The metric functions on hand-made cases, so the eval numbers can be trusted."""

from __future__ import annotations

import math

from assistant.evaluation.evaluate import (
    GoldQuestion,
    answer_correct,
    citation_precise,
    citation_valid,
    covers_gold,
    judge,
    normalize,
    paragraph_of,
    retrieval_rank,
    summarize,
)
from assistant.types import Answer, Citation

TEXT = "Rollo led the Norse.\n\nThe Normans came from Normandy. They spoke French.\n\nLast paragraph here."
DOCS = {"n.txt": TEXT}
GOLD = (("Normandy", TEXT.index("Normandy")),)
Q = GoldQuestion("q1", "Where did the Normans come from?", "n.txt", True, GOLD)
Q_UNANSWERABLE = GoldQuestion("q2", "Who led the Danes?", "n.txt", False)


def cite(sub: str, n: int = 1, quote: str | None = None) -> Citation:
    start = TEXT.index(sub)
    return Citation(n, "n.txt", start, start + len(sub), sub if quote is None else quote, 0.5)


def hit(sub: str, source: str = "n.txt") -> dict:
    start = TEXT.index(sub)
    return {"source": source, "start": start, "end": start + len(sub)}


def test_normalize_follows_squad():
    assert normalize("The  Normans, of France!") == "normans of france"
    assert normalize("“an” apple") == "apple"


def test_answer_correct_needs_the_whole_gold_answer_as_words():
    assert answer_correct("They came from Normandy. [1]", GOLD)
    assert not answer_correct("They came from Norman lands.", GOLD)
    assert not answer_correct("They came from Normandyville.", GOLD)  # a word, not a substring


def test_retrieval_rank_finds_the_first_hit_containing_a_gold_start():
    hits = [hit("Rollo led the Norse."), hit("Last paragraph here."), hit("The Normans came from Normandy.")]
    assert retrieval_rank(hits, "n.txt", GOLD) == 3
    assert retrieval_rank(hits[:2], "n.txt", GOLD) is None  # a miss
    assert retrieval_rank([hit("The Normans came from Normandy.", source="other.txt")], "n.txt", GOLD) is None


def test_a_span_ending_inside_the_answer_is_a_partial_overlap_and_does_not_cover_it():
    partial = cite("The Normans came from Norman")
    assert not covers_gold(partial.to_json(), "n.txt", GOLD)
    assert covers_gold(cite("from Normandy").to_json(), "n.txt", GOLD)


def test_an_invalid_span_is_not_valid():
    assert citation_valid(cite("Rollo led").to_json(), DOCS.get)
    assert not citation_valid(cite("Rollo led", quote="Rollo lead").to_json(), DOCS.get)
    assert not citation_valid({"source": "n.txt", "start": 5, "end": 999, "quote": "x"}, DOCS.get)
    assert not citation_valid({"source": "gone.txt", "start": 0, "end": 1, "quote": "R"}, DOCS.get)


def test_precision_counts_citations_inside_the_gold_paragraph():
    assert paragraph_of(TEXT, TEXT.index("French")) == (TEXT.index("The Normans"), TEXT.index("French.") + 7)
    assert citation_precise(cite("They spoke French.").to_json(), "n.txt", GOLD, TEXT)
    assert not citation_precise(cite("Rollo led the Norse.").to_json(), "n.txt", GOLD, TEXT)


def test_judge_and_summarize_on_a_right_answer_a_wrong_one_and_an_abstention():
    good = Answer(
        Q.question,
        "The Normans came from Normandy. [1]",
        (cite("The Normans came from Normandy."),),
        trace={"hits": [hit("Rollo led the Norse."), hit("The Normans came from Normandy.")]},
    )
    wrong = Answer(
        Q.question,
        "Rollo led the Norse. [1] Bad. [2]",
        (cite("Rollo led the Norse."), cite("Rollo led", n=2, quote="Rollo lead")),
        trace={"hits": [hit("Rollo led the Norse.")]},
    )
    refused = Answer(Q_UNANSWERABLE.question, "not covered", abstained=True, trace={"hits": []})
    falsely_refused = Answer(Q.question, "not covered", abstained=True, trace={"hits": []})
    verdicts = [
        judge(Q, good, DOCS.get),
        judge(Q, wrong, DOCS.get),
        judge(Q_UNANSWERABLE, refused, DOCS.get),
        judge(Q, falsely_refused, DOCS.get),
    ]
    m = summarize(verdicts)
    assert (m["answerable"], m["unanswerable"]) == (3, 1)
    assert m["hit@1"] == 0 and math.isclose(m["hit@5"], 1 / 3) and math.isclose(m["mrr"], 0.5 / 3)
    assert math.isclose(m["answer_correct"], 1 / 3)
    assert math.isclose(m["citation_validity"], 2 / 3)
    assert math.isclose(m["citation_recall"], 1 / 3)
    assert math.isclose(m["citation_precision"], 1 / 3)
    assert m["unanswerable_abstained"] == 1.0 and math.isclose(m["false_abstention"], 1 / 3)


def test_our_own_categories_near_misses_who_is_and_what_did_x_say():
    said = (("The Normans came from Normandy.", TEXT.index("The Normans came")),)
    other = (("They spoke French.", TEXT.index("They spoke")),)
    near = GoldQuestion("n1", "How many Normans came?", "n.txt", False, (), "near-miss")
    twin = GoldQuestion("t1", "Where did the Normans come from?", "n.txt", True, GOLD, "twin")
    who = GoldQuestion("w1", "Who was Rollo?", "n.txt", True, (("Rollo", 0),), "who-is")
    quote = GoldQuestion("s1", "What did they say?", "n.txt", True, said, "said", other)
    refused = Answer("q", "no", abstained=True)
    verdicts = [
        judge(near, refused, DOCS.get),
        judge(near, Answer("q", "x [1]", (cite("They spoke French."),)), DOCS.get),
        judge(twin, refused, DOCS.get),
        judge(twin, Answer("q", "x [1]", (cite("The Normans came from Normandy."),)), DOCS.get),
        judge(who, Answer("q", "x [1]", (cite("Rollo led the Norse."),)), DOCS.get),
        judge(who, Answer("q", "x [1]", (cite("They spoke French."),)), DOCS.get),
        judge(quote, Answer("q", "x [1]", (cite("came from Normandy"),)), DOCS.get),
        judge(quote, Answer("q", "x [1] [2]", (cite("Normandy."), cite("They spoke", n=2))), DOCS.get),
        judge(quote, refused, DOCS.get),
    ]
    m = summarize(verdicts)
    assert m["near_miss_refused"] == 0.5 and m["twin_refused"] == 0.5 and m["who_is_named"] == 0.5
    assert m["said_no_other_speaker"] == 0.5  # of the two answered; the refusal quotes nobody
    assert math.isclose(m["said_speaker_quoted"], 2 / 3)
    assert "near_miss_refused" not in summarize([judge(Q, refused, DOCS.get)])  # SQuAD has no categories
