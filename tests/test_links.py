"""Links from citations to where people read their sources: templates, text fragments, per space."""

from __future__ import annotations

import pytest

from assistant.links import link, problem, text_fragment
from assistant.types import Citation


def cite(source: str, quote: str = "We are not going to work with them.", page: int | None = None) -> Citation:
    return Citation(1, source, 120, 155, quote, 0.8, page)


@pytest.mark.parametrize(
    "template, source, expected",
    [
        ("https://docs.example/{source}", "lapd.txt", "https://docs.example/lapd.txt"),
        ("https://git.example/blob/main/{source}", "hr/leave policy.txt", "https://git.example/blob/main/hr/leave%20policy.txt"),
        ("https://wiki.example/{source_stem}", "hr/leave.pdf", "https://wiki.example/hr/leave"),
        ("https://docs.example/{source}#page={page}", "hr/leave.pdf", "https://docs.example/hr/leave.pdf#page=3"),
        ("https://docs.example/{source}?from={start}&to={end}", "a.txt", "https://docs.example/a.txt?from=120&to=155"),
    ],
)  # fmt: skip
def test_placeholders_are_filled_and_paths_encoded(template, source, expected):
    assert link(template, cite(source, page=3)) == expected


def test_web_pages_and_markdown_get_a_text_fragment_of_the_quote():
    quote = "**Self-service** leave, of up to 5 days & more: ask your lead."
    url = link("https://docs.example/{source}", cite("hr/leave.md", quote))
    assert url == "https://docs.example/hr/leave.md#:~:text=Self%2Dservice%20leave%2C%20of%20up%20to%205"
    assert link("https://docs.example/{source}", cite("a.html", quote)).startswith(
        "https://docs.example/a.html#:~:text="
    )
    assert "#" not in link("https://docs.example/{source}", cite("a.txt", quote))  # plain text: no fragment
    assert link("https://docs.example/{source}#top", cite("a.md", quote)).endswith(
        "#top"
    )  # the template's own anchor stays


def test_no_template_means_no_link():
    assert link(None, cite("a.md")) is None and link("", cite("a.md")) is None


@pytest.mark.parametrize(
    "template, says",
    [
        ("https://docs.example/{source}", ""),
        ("docs.example/{source}", "must start with http:// or https://"),
        ("https://docs.example/{path}", "unknown placeholder {path}"),
        ("https://docs.example/{source", "not a template"),
    ],
)
def test_templates_are_checked(template, says):
    assert (problem(template) == "") if not says else (says in problem(template))


def test_fragment_ignores_markdown_syntax_and_keeps_six_words():
    assert text_fragment("# The [leave](x) policy — one two three four") == "The%20leave%20x%20policy%20%E2%80%94%20one"


def test_each_space_links_with_its_own_template_or_the_global_one(tmp_path, embedder):
    from assistant.config import Settings
    from assistant.engine import Engine

    for name in ("hr", "eng"):
        (tmp_path / name).mkdir()
    (tmp_path / "spaces.toml").write_text(
        '[spaces.hr]\ncorpus = "hr"\nsource_url = "https://wiki.example/hr/{source_stem}"\n\n'
        '[spaces.eng]\ncorpus = "eng"\n',
        encoding="utf-8",
    )
    settings = Settings(
        spaces=tmp_path / "spaces.toml", data_dir=tmp_path / "data", source_url="https://git.example/{source}"
    )
    engine = Engine(settings, embedder=embedder)
    hr = Citation(1, "leave.md", 0, 5, "Leave", 0.9, space="hr")
    eng = Citation(2, "deploy.txt", 0, 5, "Steps", 0.9, space="eng")
    assert engine.link(hr) == "https://wiki.example/hr/leave#:~:text=Leave"
    assert engine.link(eng) == "https://git.example/deploy.txt"


def test_a_bad_template_in_a_spaces_file_is_one_clear_error(tmp_path):
    from assistant.spaces import load
    from index.errors import Error

    (tmp_path / "hr").mkdir()
    (tmp_path / "spaces.toml").write_text('[spaces.hr]\ncorpus = "hr"\nsource_url = "wiki/{x}"\n', encoding="utf-8")
    with pytest.raises(Error, match=r"space 'hr': source_url must start with http"):
        load(tmp_path / "spaces.toml")


def test_the_chat_shows_each_source_as_a_hyperlink_and_its_url():
    from rich.console import Console

    from assistant.types import Answer
    from bots.repl import render_sources

    answer = Answer("q?", "Yes [1].", (cite("lapd.txt"),))
    shown = render_sources(answer, full=False, link=lambda c: f"https://docs.example/{c.source}")
    links = {span.style.link for span in shown.spans if hasattr(span.style, "link") and span.style.link}
    assert links == {"https://docs.example/lapd.txt"}
    console = Console(record=True, width=200)
    console.print(shown)
    assert "lapd.txt:120-155  https://docs.example/lapd.txt" in console.export_text()
