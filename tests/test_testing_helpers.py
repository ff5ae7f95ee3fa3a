"""assert_cites / assert_abstains: pass when they should, and fail with a readable message."""

from __future__ import annotations

import pytest

from assistant.testing import assert_abstains, assert_cites
from assistant.types import Answer, Citation

CITES = (
    Citation(1, "handbook.md", 10, 40, "Staff get 30 days\nof paid leave.", 0.8),
    Citation(2, "faq.md", 0, 20, "Ask HR for details.", 0.5),
)
ANSWER = Answer("How much leave?", "Staff get 30 days of paid leave. [1] Ask HR for details. [2]", CITES)
ABSTAINED = Answer("Who won?", "The documents don't cover this question.", abstained=True)


def test_passes_on_a_matching_citation_ignoring_line_breaks():
    assert_cites(ANSWER, source="handbook.md", contains="30 days of paid leave")
    assert_cites(ANSWER, source="faq.md")
    assert_cites(ANSWER, contains="Ask HR")


def test_fails_listing_what_was_cited():
    with pytest.raises(AssertionError) as err:
        assert_cites(ANSWER, source="handbook.md", contains="40 days")
    message = str(err.value)
    assert "of handbook.md quoting '40 days'" in message
    assert "[1] handbook.md:10-40 'Staff get 30 days of paid leave.'" in message
    assert "[2] faq.md:0-20" in message


def test_the_right_text_in_the_wrong_file_fails():
    with pytest.raises(AssertionError):
        assert_cites(ANSWER, source="faq.md", contains="30 days")


def test_an_abstention_fails_assert_cites_and_passes_assert_abstains():
    with pytest.raises(AssertionError, match="abstained"):
        assert_cites(ABSTAINED, contains="anything")
    assert_abstains(ABSTAINED)
    with pytest.raises(AssertionError, match="expected an abstention"):
        assert_abstains(ANSWER)
