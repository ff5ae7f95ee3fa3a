"""Spaces: several folders in one assistant; a question searches only what may be seen where
it was asked. The spaces file, the merge of hits, the command line, and Slack over HTTP."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from assistant import spaces
from bots import access
from index.errors import Error

from data import ARTICLE, BECK, BUNDLED, HOMELAND, SCRIPT

HR_FACT = "Employees receive 27 days of paid parental leave, the HR office confirmed in March."
HR_QUESTION = "How many days of paid parental leave do employees get?"
SPACES = """
[spaces.handbook]
corpus = "handbook"
slack_channels = ["*"]

[spaces.hr]
corpus = "hr"
slack_channels = ["C0HR"]
slack_users = ["U0LEAD"]
"""


def make_spaces(root: Path) -> Path:
    shutil.copytree(BUNDLED, root / "handbook")
    (root / "hr").mkdir()
    (root / "hr" / "leave.md").write_text(f"# Leave\n\n{HR_FACT}\n", encoding="utf-8")
    path = root / "spaces.toml"
    path.write_text(SPACES, encoding="utf-8")
    return path


def test_a_spaces_file_is_read_and_visibility_follows_it(tmp_path):
    loaded = spaces.load(make_spaces(tmp_path))
    assert [(s.name, s.corpus.name, s.slack_channels, s.slack_users) for s in loaded] == [
        ("handbook", "handbook", ("*",), ()),
        ("hr", "hr", ("C0HR",), ("U0LEAD",)),
    ]
    assert access.visible(loaded, channel="C0GEN", user="U1", direct=False) == ["handbook"]
    assert access.visible(loaded, channel="C0HR", user="U1", direct=False) == ["handbook", "hr"]
    assert access.visible(loaded, channel="D1", user="U0LEAD", direct=True) == ["handbook", "hr"]
    assert access.visible(loaded, channel="D2", user="U2", direct=True) == ["handbook"]
    assert [s.name for s in spaces.pick(loaded, ["hr"])] == ["hr"]
    with pytest.raises(Error, match="no space named 'finance'"):
        spaces.pick(loaded, ["finance"])


@pytest.mark.parametrize(
    "text, message",
    [
        ('[spaces.hr]\ncorpus = "nope"\n', "space 'hr': corpus folder not found"),
        ('[spaces.hr]\ncorpus = "hr"\nslack_chanels = ["C1"]\n', "space 'hr': unknown key 'slack_chanels'"),
        ('[space.hr]\ncorpus = "hr"\n', "unknown key 'space'"),
        ('[spaces.hr]\ncorpus = "hr"\n[spaces.people]\ncorpus = "hr"\n', "two spaces share the folder"),
        ('[spaces."h r"]\ncorpus = "hr"\n', "a name is letters, digits"),
        ("[spaces.hr\n", "not valid TOML"),
    ],
)
def test_a_bad_spaces_file_is_one_line_naming_the_problem(tmp_path, text, message):
    (tmp_path / "hr").mkdir()
    path = tmp_path / "spaces.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(Error, match=message):
        spaces.load(path)


@pytest.mark.slow
@pytest.mark.parametrize(
    "text, message",
    [
        ('[spaces.hr]\ncorpus = "missing"\n', "space 'hr': corpus folder not found"),
        ('[spaces.hr]\ncorpus = "hr"\nslack_channel = ["C1"]\n', "space 'hr': unknown key 'slack_channel'"),
    ],
)
def test_the_command_line_exits_1_with_one_line_for_a_bad_spaces_file(tmp_path, text, message):
    (tmp_path / "hr").mkdir()
    (tmp_path / "spaces.toml").write_text(text, encoding="utf-8")
    env = {**os.environ, "ASSISTANT_SPACES": str(tmp_path / "spaces.toml"), "ASSISTANT_DATA_DIR": str(tmp_path)}
    proc = subprocess.run([str(SCRIPT), "ask", "anything"], capture_output=True, text=True, env=env)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0 and message in proc.stderr


@pytest.fixture(scope="module")
def engine(tmp_path_factory, embedder):
    from assistant.config import Settings
    from assistant.engine import Engine

    root = tmp_path_factory.mktemp("spaces")
    path = make_spaces(root)
    (root / "handbook" / "leave.md").write_text("# Leave\n\nAsk HR about leave.\n", encoding="utf-8")  # same name
    e = Engine(Settings(spaces=path, data_dir=root / "data"), embedder=embedder)
    e.sync()
    return e


@pytest.mark.slow
def test_hits_of_two_spaces_interleave_by_score_and_never_share_an_index(engine):
    assert len({i.collection for i in engine.indexes.values()}) == 2  # two indexes, two collections
    hits = engine.search(["paid parental leave for employees"], 5)
    sources = [h.chunk.source for h in hits]
    assert {s.split("/")[0] for s in sources} == {"hr", "handbook"}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert "hr/leave.md" in sources and "handbook/leave.md" in sources  # same path, two spaces, kept apart
    assert engine.search(["paid parental leave"], 5, ["handbook"])[0].chunk.source.startswith("handbook/")


@pytest.mark.slow
def test_citations_name_their_space_and_are_checked_against_its_own_file(engine):
    answer = engine.answer(HR_QUESTION, spaces=["hr", "handbook"])
    data = answer.to_json()
    cite = data["citations"][0]
    assert (cite["space"], cite["source"], cite["quote"]) == ("hr", "leave.md", HR_FACT)
    assert engine.text_of("leave.md", "hr")[cite["start"] : cite["end"]] == HR_FACT
    assert "27 days" not in (engine.text_of("leave.md", "handbook") or "")
    hidden = engine.answer(HR_QUESTION, spaces=["handbook"]).to_json()
    assert "27 days" not in json.dumps(hidden) and all(c["space"] == "handbook" for c in hidden["citations"])
    beck = engine.answer(BECK, spaces=["handbook"])
    assert any(HOMELAND in c.quote and c.space == "handbook" and c.source == ARTICLE for c in beck.citations)
    assert engine.answer(BECK, spaces=[]).abstained  # nothing visible: nothing searched


@pytest.mark.slow
def test_what_else_skips_what_was_quoted_in_a_space(engine):
    from assistant.conversation.session import Session

    session = Session(engine, ["handbook"])
    first = session.ask(BECK).answer
    again = session.ask("What else did he say?").answer
    quoted = {(c.space, c.start) for c in first.citations}
    assert quoted and not quoted & {(c.space, c.start) for c in again.citations}
    skipped = [s for s in again.trace["sentences"] if s["reason"] == "already quoted earlier in this conversation"]
    assert skipped and all(s["source"].startswith("handbook/") for s in skipped)


@pytest.mark.slow
def test_ask_with_a_space_on_the_command_line(tmp_path):
    path = make_spaces(tmp_path)
    env = {
        **os.environ,
        "ASSISTANT_SPACES": str(path),
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "HF_HUB_OFFLINE": "1",
    }

    def ask(*names):
        args = [a for n in names for a in ("--space", n)]
        proc = subprocess.run(
            [str(SCRIPT), "ask", "--json", *args, HR_QUESTION], capture_output=True, text=True, env=env
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    hr = ask("hr")
    assert [(c["space"], c["source"]) for c in hr["citations"]] == [("hr", "leave.md")]
    assert "27 days" not in json.dumps(ask("handbook"))
    listed = subprocess.run([str(SCRIPT), "spaces"], capture_output=True, text=True, env=env)
    assert listed.returncode == 0 and "hr: " in listed.stdout and "asked channels C0HR; DMs of U0LEAD" in listed.stdout


@pytest.mark.slow
def test_slack_answers_from_a_space_only_where_it_may_be_seen(tmp_path):
    from test_slack import event, start_bot

    from fake_slack import BOT_USER, FakeSlack, message_text

    path = make_spaces(tmp_path)
    with FakeSlack() as slack, start_bot(tmp_path / "bot", slack, ASSISTANT_SPACES=str(path)) as bot:

        def reply(channel: str, body: str, bot=bot) -> str:
            assert bot.send(body)[0] == 200
            posts = slack.wait_for(lambda: slack.posts(channel))
            assert posts, channel
            return message_text(posts[-1])

        general = reply("C0GEN", event(text=f"<@{BOT_USER}> {HR_QUESTION}", channel="C0GEN")[0])
        assert "leave.md" not in general and "27 days" not in general and "hr/" not in general
        hr = reply("C0HR", event(text=f"<@{BOT_USER}> {HR_QUESTION}", channel="C0HR")[0])
        assert "`hr/leave.md:" in hr and "27 days" in hr
        lead = reply(
            "D0LEAD", event("message", text=HR_QUESTION, channel="D0LEAD", channel_type="im", user="U0LEAD")[0]
        )
        assert "`hr/leave.md:" in lead
        other = reply(
            "D0OTHER", event("message", text=HR_QUESTION, channel="D0OTHER", channel_type="im", user="U0X")[0]
        )
        assert "leave.md" not in other and "27 days" not in other
