"""eval/build_domains.py's pure parts: the split by document, which withheld questions are kept
as unanswerable, joined paragraphs' offsets, and the lenient reading of the E-Manual files."""

from __future__ import annotations

import importlib.util
import sys

from data import REPO

_spec = importlib.util.spec_from_file_location("build_domains", REPO / "eval" / "build_domains.py")
build = importlib.util.module_from_spec(_spec)
sys.modules["build_domains"] = build  # its dataclasses look their module up
_spec.loader.exec_module(build)


def test_a_document_is_always_in_the_same_split_and_both_splits_are_used():
    names = [f"doc{i}.txt" for i in range(200)]
    splits = [build.split_of(n) for n in names]
    assert splits == [build.split_of(n) for n in names]
    assert 0.45 < splits.count("fit") / len(splits) < 0.75 and "check" in splits


def test_joined_paragraphs_know_where_each_starts():
    text, starts = build._join(["Alpha.", "Beta gamma.", "Delta."])
    assert text == "Alpha.\n\nBeta gamma.\n\nDelta."
    assert [text[s : s + 4] for s in starts] == ["Alph", "Beta", "Delt"]


def test_a_withheld_question_is_unanswerable_only_if_no_answer_is_left_in_the_document():
    text = "The Normans came from Normandy. They spoke French."
    assert build._withheld(text, ["Denmark", "the Danes"])
    assert not build._withheld(text, ["Denmark", "normandy"])  # another paragraph still says it
    assert build._withheld(text, ["Norman"])  # a word, not part of one


def test_passage_ids_name_their_document_and_start():
    assert build._passage_doc("162428-0-349") == "162428"
    assert build._passage_doc("ibmcld_00691-7371-8668") == "ibmcld_00691"
    assert build._passage_start("ibmcld_00691-7371-8668") == 7371
    assert build._passage_doc("no-offsets") == "no-offsets"


def test_manual_records_are_read_from_files_that_are_not_quite_json():
    raw = """{
    "All_Questions": [
        {
            "Section Hierarchy": "Quick Guides>Using Bixby>Running Bixby",
            "Link": "https://example.invalid/page=14",
            "Question": "Where can I view Bixby guide?",
            "Answer": "Press and hold the button."" Then release it."
        }
        {
            "Section Hierarchy": "Settings>Sound",
            "Question": "How do I reset sound?",
            "Answer": "Reset Sound."
        },
    ]
}"""
    records = build._manual_records(raw)
    assert [(r["Section Hierarchy"].split(">")[-1], r["Question"]) for r in records] == [
        ("Running Bixby", "Where can I view Bixby guide?"),
        ("Sound", "How do I reset sound?"),
    ]


def test_a_rulebook_keeps_its_clause_numbers_and_each_passage_knows_where_its_text_starts():
    passages = [
        {"PassageID": "1.", "Passage": "INTRODUCTION"},
        {"PassageID": "1.1", "Passage": "Application"},
        {"PassageID": "1.1.1", "Passage": ""},  # a bare number: its clauses follow under their own
        {"PassageID": "1.1.1.(1)", "Passage": " These Rules apply to every Person. "},
    ]
    text, starts = build._clauses(passages)
    assert text == "1. INTRODUCTION\n\n1.1 Application\n\n1.1.1.(1) These Rules apply to every Person."
    assert starts[2] is None
    bodies = [p["Passage"].strip() for p in passages]
    assert all(text[s : s + len(b)] == b for s, b in zip(starts, bodies, strict=True) if s is not None)


def test_a_passage_is_found_in_extracted_pdf_text_across_line_breaks_and_page_furniture():
    passage = "The Regulator may, at its discretion, take regulatory action arising from the breach of a Rule including suspension."
    extracted = (
        "1.2 Fees\nThe Regulator may, at its discretion, take regulatory\naction arising from the breach\n\n"
        "TITLE | Authority\n- 2 -\nof a Rule including suspension.\n\n1.3 Next"
    )
    start, end = build._anchored(extracted, passage)
    assert extracted[start:].startswith("The Regulator may") and extracted[:end].endswith("including suspension.")
    assert build._anchored(extracted, "Something the text never says at all, in any words of its own here.") is None
