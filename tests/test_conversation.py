"""Follow-up resolution: pronouns, ellipsis, chains, and topic switches that carry nothing."""

from __future__ import annotations

import pytest

from assistant.conversation.resolve import Conversation, Turn, entities, is_follow_up
from assistant.types import Answer, Citation

from data import BECK


def talk(*questions: str, cites=()) -> Conversation:
    conv = Conversation()
    for q in questions:
        conv.add(Turn(conv.resolve(q), Answer(q, "…", tuple(cites))))
    return conv


def test_entities_skip_question_words():
    assert entities(BECK) == ["Chief Beck", "Homeland Security"]
    assert entities("Who was the Duke of Normandy in 1066?") == ["Duke of Normandy"]
    assert entities("how are you") == []


def test_a_pronoun_carries_the_person_named_before():
    r = talk(BECK).resolve("Did the election change anything for his department?")
    assert r.carried == ("Chief Beck",)
    assert r.standalone == "Did the election change anything for Chief Beck's department?"
    assert r.query == r.standalone  # the question written out is the query


def test_that_as_a_pointer_carries_the_earlier_subject():
    r = talk("When was the special order mandated by Daryl Gates?").resolve("Why was that order issued?")
    assert "Daryl Gates" in r.carried


def test_what_else_carries_names_and_terms_and_excludes_what_was_cited():
    cite = Citation(1, "a.txt", 10, 50, "We are not going to work with Homeland Security.", 0.9)
    r = talk(BECK, cites=[cite]).resolve("What else did he say?")
    assert r.carried == ("Chief Beck",) and r.standalone == "What else did Chief Beck say?"
    assert ("a.txt", 10, 50) in r.exclude
    r = talk(BECK, cites=[cite]).resolve("What else?")
    assert r.carried[:2] == ("Chief Beck", "Homeland Security") and ("a.txt", 10, 50) in r.exclude


def test_what_about_keeps_the_frame_with_the_new_subject():
    r = talk("What did Chief Beck say about deportation?").resolve("What about Mayor Garcetti?")
    assert "deportation" in r.carried and "Chief Beck" not in r.carried


@pytest.mark.parametrize(
    "first, follow_up, standalone",
    [
        (BECK, "What about the sheriff?", "What did the sheriff say about working with Homeland Security?"),
        (BECK, "And Mayor Garcetti?", "What did Mayor Garcetti say about working with Homeland Security?"),
        (
            "What did the Sheriff's Department say about immigration status?",
            "How about the mayor?",
            "What did the mayor say about immigration status?",
        ),
        (
            "How many immigrants live in Los Angeles County?",
            "And in the whole country?",
            "How many immigrants live in the whole country?",
        ),
        ("Where did the Normans settle?", "What about the Vikings?", "Where did the Vikings settle?"),
    ],
)
def test_what_about_x_swaps_the_subject_and_keeps_the_frame(first, follow_up, standalone):
    r = talk(first).resolve(follow_up)
    assert r.standalone == standalone and r.understood == standalone


def test_a_pronoun_resolves_to_a_person_quoted_in_the_last_answer():
    quote = "It doesn’t matter,” said Capt. Jeff Scroggin, a spokesman for the Sheriff’s Department."
    cite = Citation(1, "a.txt", 0, len(quote), quote, 0.9)
    r = talk("What did the Sheriff's Department spokesman say?", cites=[cite]).resolve("What is his name?")
    assert r.carried == ("Capt. Jeff Scroggin",) and r.standalone == "What is Capt. Jeff Scroggin's name?"
    # A person named in the question comes before one in the quotes.
    r = talk(BECK, cites=[cite]).resolve("Did he say more?")
    assert r.carried[0] == "Chief Beck"


def test_a_subjectless_follow_up_is_read_with_the_topic_question():
    conv = talk("How many immigrants live in Los Angeles County?", "Who says so?")
    assert conv.turns[-1].resolved.understood == "Who says so? How many immigrants live in Los Angeles County?"
    # ... and the topic question stays the one to swap a subject in.
    assert conv.resolve("And in Orange County?").standalone == "How many immigrants live in Orange County?"


def test_a_chain_of_follow_ups_keeps_the_subject():
    conv = talk(BECK, "Did the election change anything for his department?")
    assert "Chief Beck" in conv.resolve("What else did he say?").carried


@pytest.mark.parametrize(
    "question",
    [
        "What did the Sheriff's Department spokesman say?",
        "Who won the 2020 World Series?",
        "How many immigrants live in Los Angeles County?",
        "Did Mayor Eric Garcetti say that the city would act?",  # "say that" is a clause, not a pointer
    ],
)
def test_a_new_topic_carries_nothing(question):
    r = talk(BECK).resolve(question)
    assert r.carried == () and r.query == question and r.exclude == frozenset()


def test_reset_forgets_the_conversation():
    conv = talk(BECK)
    conv.reset()
    assert conv.resolve("What else did he say?").carried == ()


@pytest.mark.parametrize(
    "question, expected",
    [
        ("What else?", True),
        ("And the sheriff?", True),
        ("Why?", True),
        ("More", True),
        ("Did he agree?", True),
        ("What year did the Normans conquer England?", False),
    ],
)
def test_is_follow_up(question, expected):
    assert is_follow_up(question) is expected
