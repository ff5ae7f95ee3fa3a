"""Long, structured documents and questions in any form (issue 38), asked of the real engine on
documents of our own: a numbered service agreement, a Markdown handbook, a security policy
typeset as a PDF, and a news story with a spokesman."""

from __future__ import annotations

import re

import pytest

from assistant.conversation.session import Session

from make_files import typeset_pdf_bytes

pytestmark = pytest.mark.slow

AGREEMENT = """SERVICE AGREEMENT

1 Definitions

1.1 In this agreement the Supplier means Acme Hosting Ltd and the Customer means Beta Retail plc.

1.2 Services means the hosting and support services described in Schedule 1.

2 Fees

2.1 The Customer shall pay a monthly fee of 4,000 pounds for the Services.

2.2 Invoices are payable within thirty days of the invoice date.

3 Service Levels

3.1 The Supplier shall make the Services available 99.9 percent of each month.

3.2 If availability falls below that level, the Customer receives service credits of five percent of the monthly fee for each hour of downtime.

4 Term and Termination

4.1 This agreement runs for an initial term of two years from the Effective Date.

4.2 Either party may terminate this agreement by giving ninety days of written notice before the end of the current term.

5 Data Protection

5.1 The Supplier shall process personal data only on the Customer's documented instructions.

5.2 Personal data shall be stored only in data centres located in the European Union.

6 Governing Law

6.1 This agreement is governed by the laws of England and Wales, and the courts of London have exclusive jurisdiction.
"""

HANDBOOK = """# Staff handbook

## Sick leave

If you are ill, tell your manager before ten in the morning. You get fifteen days of sick pay a year at your full salary.

## Parental leave

Parents get twenty-six weeks of parental leave at full pay, to be taken within the child's first year.

## Parking

Staff may park in lot C with a permit from reception.
"""

NEWS = """Deputies close jail wing after inspection

The county closed one wing of the Men's Central Jail on Tuesday after an inspection found broken locks.

"We take the safety of inmates and deputies very seriously," said Steve Whitmore, a spokesman for the Sheriff's Department.

The Sheriff's Department runs the largest jail system in the country, with about 17,000 inmates.

The inspection was ordered by the county's Board of Supervisors after a series of escapes.
"""


def _security_pdf() -> bytes:
    header = ("Acme Hosting - Information Security Policy", "Helvetica", 8)
    pages = [
        [
            header,
            ("Information Security Policy", "Helvetica-Bold", 16),
            ("Passwords", "Helvetica-Bold", 12),
            ("Passwords must be at least 14 characters long and must not be reused.", "Helvetica", 10),
            ("Passwords are changed only when there is a sign that one was disclosed.", "Helvetica", 10),
            ("- 1 -", "Helvetica", 8),
        ],
        [
            header,
            ("Remote Access", "Helvetica-Bold", 12),
            ("Multi-factor authentication is required for all remote access to company systems.", "Helvetica", 10),
            ("Remote sessions end after fifteen minutes without activity.", "Helvetica", 10),
            ("- 2 -", "Helvetica", 8),
        ],
        [
            header,
            ("Laptops", "Helvetica-Bold", 12),
            ("Laptops must use full-disk encryption and be locked when left alone.", "Helvetica", 10),
            ("- 3 -", "Helvetica", 8),
        ],
    ]
    return typeset_pdf_bytes(pages, "Information Security Policy")


@pytest.fixture(scope="module")
def engine(tmp_path_factory, embedder):
    from assistant.config import Settings
    from assistant.engine import Engine

    root = tmp_path_factory.mktemp("structured")
    (root / "agreement.txt").write_text(AGREEMENT)
    (root / "handbook.md").write_text(HANDBOOK)
    (root / "news.txt").write_text(NEWS)
    (root / "security.pdf").write_bytes(_security_pdf())
    engine = Engine(Settings(corpus=root, data_dir=tmp_path_factory.mktemp("data")), embedder=embedder)
    engine.sync()
    return engine


def ask(engine, question: str):
    """The engine's answer, checked: every quote is whole words and no lone lead-in."""
    answer = engine.answer(question)
    whole(engine, answer)
    return answer


def whole(engine, answer) -> None:
    for c in (*answer.citations, *answer.related):
        text = engine.text_of(c.source)
        assert text[c.start : c.end] == c.quote
        assert c.start == 0 or not (text[c.start - 1].isalnum() and text[c.start].isalnum()), c.quote
        assert c.end == len(text) or not (text[c.end - 1].isalnum() and text[c.end].isalnum()), c.quote
        assert not c.quote.rstrip().endswith(":"), c.quote


def test_a_form_with_details_and_a_quoted_category_is_answered_from_the_clause_under_its_heading(engine):
    answer = ask(
        engine,
        'Highlight the parts (if any) of this contract related to "Governing Law" that should be reviewed by '
        "a lawyer. Details: Which state/country's law governs the interpretation of the contract?",
    )
    assert not answer.abstained, answer.text
    first = answer.citations[0]
    assert first.source == "agreement.txt" and "laws of England" in first.quote
    assert first.section == "6 Governing Law › 6.1"
    assert first.to_json()["section"] == "6 Governing Law › 6.1"


def test_who_spoke_for_an_organisation_names_the_person_quoted_in_that_role(engine):
    answer = ask(engine, "Who spoke for the Sheriff's Department?")
    assert not answer.abstained, answer.text
    assert "Steve Whitmore" in answer.citations[0].quote


@pytest.mark.parametrize(
    "question, words",
    [
        ("What is the monthly fee?", "4,000 pounds"),
        ("What is the monthly fee under the service agreement?", "4,000 pounds"),
        ("How much notice is needed to terminate?", "ninety days"),
        ("Where is personal data stored?", "European Union"),
        ("When are invoices payable?", "thirty days"),
    ],
)
def test_in_a_numbered_agreement_quotes_hold_no_clause_number_or_heading(engine, question, words):
    answer = ask(engine, question)
    assert not answer.abstained, answer.text
    assert any(words in c.quote for c in answer.citations), answer.text
    headings = [line for line in AGREEMENT.splitlines() if re.fullmatch(r"\d+ [A-Z][\w ]+", line)]
    for c in answer.citations:
        assert not re.search(r"(?:^|\s)\d+(?:\.\d+)*\.?$", c.quote), c.quote  # ends with the next clause's number
        assert not re.match(r"\d+(?:\.\d+)*\s", c.quote), c.quote  # starts with its own number
        assert not any(c.quote.startswith(h) for h in headings), c.quote
        assert c.section.startswith(tuple(headings)), c.section


def test_do_i_need_mfa_is_answered_where_the_pdf_spells_out_multi_factor_authentication(engine):
    answer = ask(engine, "Do I need MFA?")
    assert not answer.abstained, answer.text
    best = max(answer.citations, key=lambda c: c.score)  # citations of one file are in reading order
    assert best.source == "security.pdf" and best.quote.startswith("Multi-factor authentication is required")
    assert best.page == 2 and best.section == "Remote Access"


def test_a_pdfs_header_footer_page_numbers_and_headings_are_never_quoted(engine):
    text = engine.text_of("security.pdf")
    for question in ["How long must passwords be?", "What must laptops use?", "When do remote sessions end?"]:
        answer = ask(engine, question)
        assert not answer.abstained, answer.text
        for c in answer.citations:
            assert text[c.start : c.end] == c.quote
            assert "Information Security Policy" not in c.quote and not re.search(r"- \d+ -", c.quote)
            assert not c.quote.startswith(("Passwords Passwords", "Laptops Laptops", "Remote Access"))


def test_what_about_replaces_the_topic_of_the_question_before(engine):
    session = Session(engine)
    before = session.ask("How many days of sick pay do I get?").answer
    whole(engine, before)
    assert "fifteen days of sick pay" in before.citations[0].quote
    turn = session.ask("What about parental leave?")
    whole(engine, turn.answer)
    assert turn.resolved.query == "How many days of parental leave do I get?"
    first = turn.answer.citations[0]
    assert "parental leave" in first.quote and first.section == "Parental leave"
