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


def test_gold_cited_counts_only_questions_whose_gold_was_retrieved_in_the_top_5():
    verdicts = [
        {"answerable": True, "rank": 1, "cited_gold": True, "correct": True, "citations": 1, "valid_citations": 1,
         "precise_citations": 1, "abstained": False},
        {"answerable": True, "rank": 4, "cited_gold": False, "correct": False, "citations": 1, "valid_citations": 1,
         "precise_citations": 0, "abstained": False},
        {"answerable": True, "rank": None, "cited_gold": False, "correct": False, "citations": 0, "valid_citations": 0,
         "precise_citations": 0, "abstained": True},
    ]  # fmt: skip
    m = summarize(verdicts)
    assert m["citation_recall"] == 1 / 3 and m["cited_if_retrieved"] == 0.5
    assert math.isnan(summarize(verdicts[2:])["cited_if_retrieved"])  # nothing retrieved: not measured


def test_bounds_by_domain_name_the_row_and_skip_rows_without_that_kind_of_question():
    from assistant.evaluation.evaluate import domain_table, missed_by_domain

    groups = {
        "news": {"answerable": 5, "unanswerable": 0, "false_abstention": 0.2, "unanswerable_abstained": float("nan")},
        "law": {"answerable": 5, "unanswerable": 5, "false_abstention": 0.0, "unanswerable_abstained": 0.4},
        "all": {"answerable": 10, "unanswerable": 5, "false_abstention": 0.1, "unanswerable_abstained": 0.4},
    }
    missed = missed_by_domain(groups, minimum=[("unanswerable_abstained", 0.5)], maximum=[("false_abstention", 0.05)])
    assert missed == [
        "law: abstained 0.400 is below its floor 0.5",
        "all: abstained 0.400 is below its floor 0.5",
        "news: refused 0.200 is above its ceiling 0.05",
        "all: refused 0.100 is above its ceiling 0.05",
    ]
    none = {"news": {**groups["news"]}, "all": {**groups["news"]}}
    assert missed_by_domain(none, minimum=[("unanswerable_abstained", 0.5)]) == [
        "abstained was not measured (no questions of that kind), so it can't meet 0.5"
    ]
    rows = domain_table(groups).splitlines()
    assert [r.split(" | ")[0] for r in rows[2:]] == ["| news", "| law", "| all"]
    assert "| 5 / 0 |" in rows[2] and rows[2].endswith("| 0.200 | - |")  # not measured: a dash, not nan


# A passage-gold question (the answer is the second paragraph as a whole), its passages in two files.
PASSAGE = "The Normans came from Normandy. They spoke French."
OTHER = "Normandy lies in France."
DOCS2 = {"n.txt": TEXT, "m.txt": OTHER}
Q_PASSAGE = GoldQuestion(
    "q3",
    "Where were the Normans from?",
    "n.txt",
    True,
    ((PASSAGE, TEXT.index(PASSAGE)), (OTHER, 0)),
    evidence="passage",
    answer_docs=("n.txt", "m.txt"),
)


def test_a_passage_is_gold_when_a_citation_lies_inside_it_not_when_it_holds_it():
    inside = cite("They spoke French.").to_json()
    assert covers_gold(inside, "n.txt", Q_PASSAGE.gold_by_doc()["n.txt"], passage=True)
    assert not covers_gold(inside, "n.txt", Q_PASSAGE.gold_by_doc()["n.txt"])  # as a span it holds too little
    across = cite("Rollo led the Norse.\n\nThe Normans").to_json()
    assert not covers_gold(across, "n.txt", Q_PASSAGE.gold_by_doc()["n.txt"], passage=True)
    # A retrieved chunk that shares text with the passage found it.
    assert retrieval_rank([hit("Rollo led"), hit("They spoke")], "n.txt", Q_PASSAGE.gold_by_doc()["n.txt"], True) == 2


def test_gold_passages_in_several_files_each_count():
    assert Q_PASSAGE.gold_by_doc() == {"n.txt": ((PASSAGE, TEXT.index(PASSAGE)),), "m.txt": ((OTHER, 0),)}
    other = Citation(1, "m.txt", 0, 8, "Normandy", 0.5)
    answer = Answer(
        Q_PASSAGE.question, "Normandy [1]", (other,), trace={"hits": [{"source": "m.txt", "start": 0, "end": 24}]}
    )
    v = judge(Q_PASSAGE, answer, DOCS2.get)
    assert v["cited_gold"] and v["correct"] and v["rank"] == 1 and v["precise_citations"] == 1
    stray = Answer(Q_PASSAGE.question, "Rollo [1]", (cite("Rollo led the Norse."),), trace={"hits": []})
    v = judge(Q_PASSAGE, stray, DOCS2.get)
    assert not v["cited_gold"] and not v["correct"] and v["rank"] is None and v["precise_citations"] == 0


def test_records_carry_evidence_history_and_the_document_of_each_answer(tmp_path):
    from assistant.evaluation.evaluate import load_questions

    path = tmp_path / "q.jsonl"
    path.write_text(
        '{"id": "a", "question": "And then?", "doc": "n.txt", "answerable": true, "evidence": "passage",'
        ' "history": ["Who led the Norse?"], "answers": [{"text": "Rollo", "start": 0},'
        ' {"text": "Normandy", "start": 0, "doc": "m.txt"}]}\n'
        '{"id": "b", "question": "Who?", "doc": "n.txt", "answerable": false}\n',
        encoding="utf-8",
    )
    a, b = load_questions(path)
    assert a.evidence == "passage" and a.history == ("Who led the Norse?",)
    assert a.gold_by_doc() == {"n.txt": (("Rollo", 0),), "m.txt": (("Normandy", 0),)}
    assert b.evidence == "span" and b.history == () and b.gold_by_doc() == {}
