"""Block Kit rendering: limits, escaping, sources, abstentions. Pure functions, tiny cases."""

from __future__ import annotations

import json

import pytest

from assistant.types import Answer, Citation
from bots.slack.blocks import BLOCK_LIMIT, SECTION_LIMIT, answer_message, escape, split


def cited(text: str, quote: str = "We are not going.", source: str = "lapd.txt") -> Answer:
    return Answer("q?", text, (Citation(1, source, 10, 10 + len(quote), quote, 0.8),))


@pytest.mark.parametrize(
    "raw, safe",
    [
        ("<!channel> hi", "&lt;!channel&gt; hi"),
        ("<!here|here> and <!everyone>", "&lt;!here|here&gt; and &lt;!everyone&gt;"),
        ("ping <@U123> and <!subteam^S1>", "ping &lt;@U123&gt; and &lt;!subteam^S1&gt;"),
        ("a & b < c > d", "a &amp; b &lt; c &gt; d"),
        ("&lt; already", "&amp;lt; already"),
    ],
)
def test_escape_neutralises_mentions_and_markup(raw, safe):
    assert escape(raw) == safe


def test_an_answer_has_sections_sources_and_feedback_buttons():
    text, blocks = answer_message(cited("We are not going. [1]"), "k1")
    assert text == "We are not going. [1]"
    assert blocks[0] == {"type": "section", "text": {"type": "mrkdwn", "text": "We are not going. *[1]*"}}
    source = next(b for b in blocks if b["type"] == "context")["elements"][0]["text"]
    assert source == "*[1]* `lapd.txt:10-27` “We are not going.”"
    actions = blocks[-1]
    assert [e["action_id"] for e in actions["elements"]] == ["feedback_up", "feedback_down"]
    assert {e["value"] for e in actions["elements"]} == {"k1"}


def test_document_text_in_quotes_and_file_names_is_escaped():
    _, blocks = answer_message(cited("<!channel> closes at 3. [1]", quote="<!channel> closes", source="<b>.md"), "k")
    dumped = json.dumps(blocks)
    assert "<!channel>" not in dumped and "<b>" not in dumped
    assert "&lt;!channel&gt;" in dumped and "&lt;b&gt;.md" in dumped


def test_an_abstention_says_not_in_the_documents_without_sources():
    text, blocks = answer_message(Answer("q?", "nope", abstained=True), "k")
    assert text.startswith("Not in the documents")
    assert "Not in the documents" in blocks[0]["text"]["text"]
    assert [b["type"] for b in blocks] == ["section", "actions"]


def test_a_long_answer_is_split_into_sections_within_limits():
    sentence = "This sentence is about forty-five characters. "
    _, blocks = answer_message(cited(sentence * 400 + "[1]"), "k")  # ~18,000 characters
    sections = [b for b in blocks if b["type"] == "section"]
    assert len(sections) >= 6 and len(blocks) <= BLOCK_LIMIT
    assert all(len(b["text"]["text"]) <= SECTION_LIMIT for b in sections)
    assert all(b["text"]["text"].endswith((".", "*[1]*")) for b in sections)


def test_an_answer_too_long_for_one_message_is_cut_with_a_note_and_keeps_its_sources():
    _, blocks = answer_message(cited("word " * 60_000), "k")
    assert len(blocks) == BLOCK_LIMIT
    assert "longer than one Slack message" in json.dumps(blocks)
    assert blocks[-1]["type"] == "actions" and any(b["type"] == "context" for b in blocks)


@pytest.mark.parametrize("limit", [10, 25, 3000])
def test_split_never_exceeds_the_limit_nor_loses_words(limit):
    text = "alpha beta. gamma delta epsilon. " * 50 + "x" * (limit + 5)
    parts = split(text, limit)
    assert all(0 < len(p) <= limit for p in parts)
    assert "".join(parts).replace(" ", "") == text.replace(" ", "")


def test_split_does_not_cut_inside_an_escape():
    parts = split(escape("<" * 2000), 3000)
    assert all(p.endswith(";") for p in parts)


def test_the_pacer_spaces_posts_one_second_apart_per_channel():
    from bots.slack.delivery import Pacer

    now = [100.0]
    slept: list[float] = []

    def sleep(seconds):
        slept.append(round(seconds, 3))
        now[0] += seconds

    pacer = Pacer(1.0, clock=lambda: now[0], sleep=sleep)
    pacer.wait("C1")
    pacer.wait("C2")  # another channel: no wait
    pacer.wait("C1")  # same channel straight away: waits out the second
    now[0] += 5
    pacer.wait("C1")  # long after: no wait
    assert slept == [1.0]


def test_related_passages_of_an_abstention_are_shown_as_not_an_answer():
    related = (Citation(1, "lapd.txt", 5, 30, "said Chief <@U1> Charlie Beck", 0.5),)
    answer = Answer("q?", "The documents mention Charlie Beck but don't say how long.", abstained=True, related=related)
    fallback, blocks = answer_message(answer, "1")
    shown = json.dumps(blocks, ensure_ascii=False)
    assert "don't say how long" in fallback and "Not answered by the documents" in shown
    assert "Related passages (they don't answer the question)" in shown
    assert "lapd.txt:5-30" in shown and "&lt;@U1&gt;" in shown and "<@U1>" not in shown
    assert "*[1]*" not in shown  # no citation numbers: nothing here is cited as an answer


def test_a_long_streamed_answer_keeps_within_slacks_limits():
    from bots.slack.blocks import STREAM_CALLS, STREAM_LIMIT, answer_markdown, answer_tail, stream_pieces

    many = tuple(Citation(n, f"doc{n}.md", n, n + 40, "<!channel> " + "q" * 400, 0.7) for n in range(1, 80))
    answer = Answer("q?", " ".join(f"Sentence {n} says a thing [{n % 79 + 1}]." for n in range(6000)), many)
    markdown = answer_markdown(answer)
    pieces = stream_pieces(markdown)
    assert len(pieces) <= STREAM_CALLS and sum(map(len, pieces)) <= STREAM_LIMIT + STREAM_CALLS
    assert pieces[-1].endswith("ask a narrower question._")  # cut, and says so
    shorter = answer_markdown(Answer("q?", " ".join(f"Sentence {n} [1]." for n in range(500)), many))
    assert "".join(stream_pieces(shorter)).split() == shorter.split()  # nothing lost or doubled
    assert len(stream_pieces(shorter)) <= STREAM_CALLS
    assert "<!channel>" not in markdown
    tail = answer_tail(answer, "k", lambda c: f"https://docs.example/{c.source}", context_actions=True)
    assert len(tail) <= BLOCK_LIMIT and tail[-1]["type"] == "context_actions"
    assert all(len(e["text"]) <= SECTION_LIMIT for b in tail if b["type"] == "context" for e in b["elements"])
    text, blocks = answer_message(answer, "k", context_actions=True)
    assert len(blocks) <= BLOCK_LIMIT and blocks[-1]["type"] == "context_actions"
    assert all(len(b["text"]["text"]) <= SECTION_LIMIT for b in blocks if b["type"] == "section")
    assert len(text) <= 3000


@pytest.mark.parametrize(
    "url",
    ["https://docs.example/a|b.txt", "https://docs.example/a>b<c.txt"],
)
def test_a_source_link_cannot_break_out_of_slacks_link_syntax(url):
    answer = cited("Yes [1].")
    _, blocks = answer_message(answer, "k", lambda c: url)
    line = next(b for b in blocks if b["type"] == "context")["elements"][0]["text"]
    link = line[line.index("<") : line.index(">") + 1]
    assert link.count("|") == 1 and link.endswith("|lapd.txt:10-27>") and "<" not in link[1:]


def test_the_manifest_asks_for_what_the_bot_uses():
    import yaml

    from data import REPO

    manifest = yaml.safe_load((REPO / "bots/slack/manifest.yml").read_text(encoding="utf-8"))
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    # assistant.threads.* (status, title, prompts), answers, ⏳, DMs and threads, /ask
    assert {"assistant:write", "chat:write", "reactions:write", "im:history", "channels:history", "commands"} <= scopes
    assert {"assistant_thread_started", "app_mention", "message.im", "message.channels"} <= events
    assert manifest["features"]["assistant_view"]["assistant_description"]
    assert manifest["settings"]["interactivity"]["is_enabled"]  # the feedback buttons


@pytest.mark.parametrize(
    "dropped, note", [(1, "Left out 1 sentence of the draft"), (3, "Left out 3 sentences of the draft")]
)
def test_sentences_left_out_are_counted_never_posted(dropped, note):
    fabricated = tuple(f"The LAPD has {n}0,000 officers." for n in range(1, dropped + 1))
    answer = Answer("q?", "Yes [1].", cited("Yes [1].").citations, mode="llm", dropped=fabricated)
    text, blocks = answer_message(answer, "k")
    shown = text + json.dumps(blocks)
    assert note in shown and "that the sources don't support" in shown
    assert not any(f in shown for f in fabricated) and "officers" not in shown
