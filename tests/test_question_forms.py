"""Questions in any form, and quotable units, as pure string work (issue 38): many tiny cases."""

from __future__ import annotations

import pytest

from assistant.answering.cite import Evidence, whole_words
from assistant.answering.question import ask_of, reword, spelled_out, spoke_for
from assistant.conversation.resolve import topic_run
from index.sentences import split


@pytest.mark.parametrize(
    "question, read",
    [
        ("What is the monthly fee?", "What is the monthly fee?"),
        ("What is the monthly fee under the service agreement?", "What is the monthly fee?"),
        ("How many days of leave are in the staff handbook?", "How many days of leave are?"),
        ("According to the policy, who approves travel?", "who approves travel?"),
        ("Details: How long is the notice period?", "How long is the notice period?"),
        ("Ticketmaster: Does the website sell my data?", "Ticketmaster: Does the website sell my data?"),
        ('Highlight the parts (if any) of this contract related to "Governing Law"', "governing law"),
        ("Find the clauses about termination", "termination"),
        ("List all provisions relating to data protection.", "data protection."),
        ('Category: "NOTICE PERIOD" Details: What is it?', "notice period What is it?"),
        ("What does the agreement say?", "What does the agreement say?"),  # nothing but the document: kept
    ],
)
def test_a_form_like_question_is_read_for_what_it_asks(question, read):
    assert reword(question) == read


def test_a_forms_label_and_quoted_category_are_no_names():
    asked = ask_of(reword('Details: Which law governs, under "GOVERNING LAW"?'))
    assert asked.names == ()
    assert "govern" in asked.focus


@pytest.mark.parametrize(
    "names, text, found",
    [
        (["MFA"], "Multi-factor authentication is required.", ["Multi-factor authentication"]),
        (["VPN"], "Connect through the virtual private network.", ["virtual private network"]),
        (["MFA"], "MFA is required.", []),  # written out in the text itself
        (["MFA"], "Many firms agree.", ["Many firms agree"]),  # initials alone can mislead: only a search hint
        (["IT"], "It takes time.", []),  # two letters: too many phrases fit
        (["Beck"], "Chief Beck said.", []),  # not an abbreviation
        (["MFA"], "Must. Fix. All.", []),  # not one phrase
    ],
)
def test_an_abbreviation_is_matched_to_the_words_that_spell_it_out(names, text, found):
    assert spelled_out(names, text) == found


@pytest.mark.parametrize(
    "question, org",
    [
        ("Who spoke for the Sheriff's Department?", "Sheriff's Department"),
        ("Who was the spokesman for the county?", "county"),
        ("Who speaks on behalf of the union?", "union"),
        ("Who is the sheriff?", None),
    ],
)
def test_who_spoke_for_an_organisation(question, org):
    assert spoke_for(question) == org


@pytest.mark.parametrize(
    "question, topic",
    [
        ("How many days of sick pay do I get?", "sick pay"),
        ("What is the monthly fee?", "monthly fee"),
        ("How long is the probation period for new staff?", "probation period"),
        ("Why?", ""),
    ],
)
def test_the_topic_a_what_about_follow_up_replaces(question, topic):
    assert topic_run(question) == topic


@pytest.mark.parametrize(
    "text, start, end, quote",
    [
        ("The payment is due.", 6, 19, "payment is due."),  # began inside "payment"
        ("The payment is due now.", 0, 16, "The payment is due"),  # ended inside "due"
        ("The payment is due.", 4, 19, "payment is due."),  # already whole
        ("“We will,” he said.", 0, 10, "“We will,”"),  # punctuation is no word
    ],
)
def test_a_quote_is_widened_to_whole_words(text, start, end, quote):
    ev = Evidence("a.txt", start, end, text[start:end], 0.9)
    got = whole_words(ev, text)
    assert got.quote == quote and text[got.start : got.end] == got.quote


@pytest.mark.parametrize(
    "text, sentences",
    [
        ("As he remembers:\n\n“We were young.” He smiled.", ["As he remembers:\n\n“We were young.”", "He smiled."]),
        ("Note:\nBring your badge.", ["Note:\nBring your badge."]),
        ("The rules below apply to all staff members in every office we run today:\n\nBe kind.", None),
        ("## Leave:\n\nTake it.", ["## Leave:", "Take it."]),  # a heading leads into nothing
    ],
)
def test_a_lead_in_is_read_with_what_it_leads_into(text, sentences):
    got = [text[s:e] for s, e in split(text)]
    if sentences is None:  # a long sentence ending in a colon stands alone
        assert len(got) == 2
    else:
        assert got == sentences
