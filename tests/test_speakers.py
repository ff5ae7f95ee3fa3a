"""Speaker attribution at index time: who said each quoted sentence (pure string work)."""

from __future__ import annotations

import pytest

from index import sentences, speakers

from data import ARTICLE, BUNDLED


def said(text: str) -> dict[str, str]:
    """Each sentence's text -> its speaker."""
    spans = sentences.split(text)
    return {text[s:e]: who for (s, e), who in zip(spans, speakers.attribute(text, spans), strict=True)}


def test_the_bundled_article_attributes_every_quote_and_no_narration():
    by = said((BUNDLED / ARTICLE).read_text(encoding="utf-8"))
    beck = "Los Angeles Police Chief Charlie Beck"
    scroggin = "Capt. Jeff Scroggin, a spokesman for the Sheriff’s Department"
    assert by["We are not going to work in conjunction with Homeland Security on deportation efforts."] == beck
    assert by["That is not our job, nor will I make it our job.”"] == beck  # end of a multi-sentence quote
    assert by["We never ask about immigration status.”"] == scroggin  # after the attribution, same paragraph
    assert by["“We just want people to come forward so we have a better community."] == scroggin
    assert by["We have not changed because of the election on Tuesday."] == beck  # "he said", Beck named before
    assert by[next(s for s in by if s.startswith("“If the first day"))] == "Mayor Eric Garcetti"
    narration = [
        "Donald Trump galvanized",
        "For mote than 30 years",
        "According to the Migration Policy Institute",
        "Officials from the Los Angeles County Sheriff’s Department claim",
        "As a final vote of confidence, Chief Beck",
        "Photo Credit",
    ]
    for start in narration:
        assert by[next(s for s in by if s.startswith(start))] == "", start


def test_a_quote_continued_into_the_next_paragraph_keeps_its_speaker():
    text = (
        "“The budget is short this year. We will cut travel first.\n\n"
        "“Hiring stops in March,” said Dana Reyes, the treasurer.\n\n"
        "The board voted on Monday."
    )
    by = said(text)
    assert by["“The budget is short this year."] == "Dana Reyes, the treasurer"
    assert by["We will cut travel first."] == "Dana Reyes, the treasurer"
    assert by["The board voted on Monday."] == ""


@pytest.mark.parametrize(
    "text, sentence, speaker",
    [
        ('Mayor Lee said: "We will open the park in May."', None, "Mayor Lee"),
        ("According to the institute, “prices rose by 4 percent.”", None, "the institute"),
        ('"Rates stay where they are," the governor said.', None, "the governor"),
        ("“We are ready,” says coach Amy Ng.", None, "coach Amy Ng"),
    ],
)
def test_attributions_before_and_after_the_quote(text, sentence, speaker):
    by = said(text)
    assert by[sentence or text] == speaker


def test_scare_quotes_and_titles_are_not_anybodys_words():
    by = said('The Normans were called "Northmen" in the chronicles. The paper "On Complexity" appeared in 1965.')
    assert set(by.values()) == {""}


def test_a_pronoun_takes_the_speaker_named_closest_before():
    text = (
        "“Taxes will fall,” said Ann Cole, the mayor.\n\n"
        "Later, Bob Diaz, the sheriff, spoke to reporters.\n\n"
        "“Crime is down,” he said."
    )
    assert said(text)["“Crime is down,” he said."] == "Bob Diaz"  # not the speaker quoted before him
    again = "“Taxes will fall,” said Ann Cole, the mayor.\n\nCole later met Bob.\n\n“Not today,” she said."
    assert said(again)["“Not today,” she said."] == "Ann Cole, the mayor"  # the full name given earlier


@pytest.mark.parametrize(
    "asked, speaker, match",
    [
        ("Sheriff's Department", "Capt. Jeff Scroggin, a spokesman for the Sheriff’s Department", True),
        ("the Sheriff’s Department", "Los Angeles Police Chief Charlie Beck", False),
        ("Los Angeles County Sheriff's Department", "Los Angeles Police Chief Charlie Beck", False),
        ("Chief Beck", "Los Angeles Police Chief Charlie Beck", True),
        ("Beck", "Los Angeles Police Chief Charlie Beck", True),
        ("mayor", "Mayor Eric Garcetti", True),
        ("Mayor Garcetti", "Capt. Jeff Scroggin, a spokesman for the Sheriff’s Department", False),
        ("Chief Beck", "", False),
    ],
)
def test_the_asked_speaker_matches_by_last_word_or_most_words(asked, speaker, match):
    assert speakers.matches(asked, speaker) is match


def test_chunks_carry_each_sentences_speaker_and_nothing_when_nobody_is_quoted():
    from index.chunking import chunk, sentences_of
    from index.documents import Document

    quoted = "The board met.\n\n“We will cut travel,” said Dana Reyes. “Hiring stops.”\n\nThe vote was 5 to 2."
    chunks = chunk(Document("a.txt", quoted, "x", "a"), max_tokens=12)
    by = {s.text: s.speaker for c in chunks for s in sentences_of(c)}
    assert by == {
        "The board met.": "",
        "“We will cut travel,” said Dana Reyes.": "Dana Reyes",
        "“Hiring stops.”": "Dana Reyes",
        "The vote was 5 to 2.": "",
    }
    plain = chunk(Document("b.txt", "No quotes here. None at all.", "y", "b"))
    assert all(c.speakers == () for c in plain)
