"""What a question asks for, read from its form: many tiny string cases, no model."""

from __future__ import annotations

import pytest

from assistant.answering.question import ask_of, holds_kind, names_of, speaker_of


@pytest.mark.parametrize(
    "question, kind, wh",
    [
        ("How long has Charlie Beck been the LAPD's chief?", "duration", "How long"),
        ("How many immigrants live in Los Angeles County?", "number", "How many"),
        ("How much is the prize?", "number", "How much"),
        ("What percentage of voters agreed?", "number", "What percentage"),
        ("When was the special order mandated?", "date", "When"),
        ("In what year did Edmonds define a good algorithm?", "date", "In what year"),
        ("Where do the immigrants live?", "place", "Where"),
        ("In what country is Normandy located?", "place", "In what country"),
        ("Who mandated the special order?", "person", "Who"),
        ("Whom did Emma marry?", "person", "Whom"),
        ("Why did the LAPD decline?", "reason", "Why"),
        ("How are train tickets booked?", "method", "How"),
        ("Is the LAPD changing its policy?", "yesno", "Is"),
        ("What did the Normans build?", "other", ""),
    ],
)
def test_the_kind_of_answer_follows_the_question_form(question, kind, wh):
    ask = ask_of(question)
    assert (ask.kind, ask.wh) == (kind, wh)


@pytest.mark.parametrize(
    "question, subject",
    [
        ("Who is Daryl Gates?", "Daryl Gates"),
        ("Who was Rollo?", "Rollo"),
        ("What is a complexity class?", "complexity class"),
        ("Who was the Norse leader?", "Norse leader"),
        ("What was replaced with the Norse religion?", None),  # a sentence, not a name
        ("Who mandated the special order?", None),
        ("What is Capt. Jeff Scroggin's name?", "Capt. Jeff Scroggin"),
        ("What was Rollo’s title?", "Rollo"),
    ],
)
def test_who_is_questions_name_their_subject(question, subject):
    ask = ask_of(question)
    assert ask.subject == subject
    assert (ask.kind == "about") == (subject is not None)


@pytest.mark.parametrize(
    "question, speaker",
    [
        ("What did the Sheriff's Department say about immigration status?", "Sheriff's Department"),
        ("What did Chief Beck say about working with Homeland Security?", "Chief Beck"),
        ("What does the mayor think of Trump?", "mayor"),
        ("According to the Migration Policy Institute, how many immigrants live there?", "Migration Policy Institute"),
        ("What is Mayor Garcetti's view on deportations?", "Mayor Garcetti"),
        ("How did the sheriff respond?", "sheriff"),
        ("What did the Normans build?", None),
        ("What do you say about this?", None),
        ("Who is Daryl Gates?", None),
    ],
)
def test_questions_about_someones_words_name_the_speaker(question, speaker):
    assert speaker_of(question) == speaker


def test_names_are_capitalised_words_and_numbers_but_not_the_opening_word():
    assert names_of("How many ships did Rollo bring to Normandy in 911?") == ["Rollo", "Normandy", "911"]
    assert names_of("Where was Chief Charlie Beck born?") == ["Chief", "Charlie", "Beck"]
    assert names_of("what is the LAPD?") == ["LAPD"]
    assert names_of("The answer") == []


@pytest.mark.parametrize(
    "kind, text, holds",
    [
        ("number", "More than 1 million immigrants live there.", True),
        ("number", "Several officers were present.", True),
        ("number", "The LAPD kept its distance.", False),
        ("date", "In 1979, a special order was mandated.", True),
        ("date", "The duchy began in 911 as a fiefdom.", True),
        ("date", "It was in the 11th century.", True),
        ("date", "We have not changed because of the election on Tuesday.", True),
        ("date", "An army of 30,000 men landed.", False),
        ("date", "But a storm dispersed the fleet.", False),
        ("duration", "For more than 30 years, the LAPD has kept its distance.", True),
        ("duration", "Chief Beck reminded citizens of their job.", False),
        ("person", "The order was mandated by then-chief Daryl Gates.", True),
        ("person", "the order was mandated by the chief.", False),
        ("place", "They live in Los Angeles County.", True),
    ],
)
def test_evidence_holds_the_kind_of_answer_asked_for(kind, text, holds):
    assert holds_kind(kind, text, "Question?") is holds


def test_an_answer_must_add_something_the_question_does_not_already_say():
    assert not holds_kind("date", "The order of 1979 was strict.", "What happened in 1979?")
    assert holds_kind("date", "The order of 1979 was strict.", "When was the order?")
    assert not holds_kind("person", "Daryl Gates mandated it.", "Who is Daryl Gates?")
