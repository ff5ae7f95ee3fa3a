"""Where settings come from, and which wins: flags > environment > .env > assistant.toml > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import LlmSettings, Settings
from bots.configure import build, warnings
from index.errors import Error


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("ASSISTANT_TOP_K", "ASSISTANT_MAX_SENTENCES", "ASSISTANT_CHUNK_TOKENS", "ASSISTANT_LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_each_source_wins_over_the_next(folder, monkeypatch):
    (folder / "assistant.toml").write_text("top_k = 7\nmax_sentences = 7\nchunk_tokens = 77\n[llm]\nmodel = 'toml'\n")
    (folder / ".env").write_text("ASSISTANT_TOP_K=6\nASSISTANT_MAX_SENTENCES=6\n")
    monkeypatch.setenv("ASSISTANT_TOP_K", "5")
    s = Settings(top_k=4)
    assert s.top_k == 4  # a flag (an init value)
    s = Settings()
    assert (s.top_k, s.max_sentences, s.chunk_tokens) == (5, 6, 77)  # env > .env > toml
    assert s.min_score == Settings.model_fields["min_score"].default  # default
    assert LlmSettings().model == "toml"  # a group reads its own table


def test_the_user_config_dir_is_read_when_the_folder_has_no_file(folder, monkeypatch):
    config = folder / "xdg"
    (config / "cited-assistant").mkdir(parents=True)
    (config / "cited-assistant" / "assistant.toml").write_text("top_k = 9\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    assert Settings().top_k == 9
    (folder / "assistant.toml").write_text("top_k = 8\n")
    assert Settings().top_k == 8  # the working folder's file comes first


def test_unknown_names_warn_with_the_closest_known_one(folder):
    (folder / "assistant.toml").write_text("min_scor = 0.3\n[llm]\nmodle = 'x'\n[slak]\n")
    (folder / ".env").write_text("ASSISTANT_CHROMA_ULR=http://x\nOTHER=1\n")
    lines = warnings({"ASSISTANT_DATADIR": "x", "ASSISTANT_CORPUS": "c", "PATH": "/bin"})
    assert "warning: ASSISTANT_DATADIR is not a setting (did you mean ASSISTANT_DATA_DIR?); ignored" in lines
    assert any(
        x.startswith("warning: ASSISTANT_CHROMA_ULR in .env is not a setting (did you mean ASSISTANT_CHROMA_URL?)")
        for x in lines
    )
    assert any("min_scor in" in x and "(did you mean min_score?)" in x for x in lines)
    assert any("[llm] modle in" in x and "(did you mean model?)" in x for x in lines)
    assert any("slak in" in x and "(did you mean slack?)" in x for x in lines)
    assert len(lines) == 5


@pytest.mark.parametrize(
    "where, expected",
    [
        ({"env": "ASSISTANT_MAX_SENTENCES=99"}, "bad setting ASSISTANT_MAX_SENTENCES=99: must be between 1 and 20"),
        ({"dotenv": "ASSISTANT_MIN_SCORE=-1"}, "bad setting ASSISTANT_MIN_SCORE=-1 in .env: must be between 0 and 1"),
        ({"toml": "chunk_tokens = 4"}, "bad setting chunk_tokens = 4 in "),
        ({"flag": 0}, "bad setting --k 0: must be between 1 and 100"),
    ],
)
def test_a_bad_value_names_where_it_was_set_and_the_range(folder, monkeypatch, where, expected):
    kwargs: dict = {}
    flags: dict = {}
    if "env" in where:
        name, value = where["env"].split("=")
        monkeypatch.setenv(name, value)
    if "dotenv" in where:
        (folder / ".env").write_text(where["dotenv"] + "\n")
    if "toml" in where:
        (folder / "assistant.toml").write_text(where["toml"] + "\n")
    if "flag" in where:
        kwargs["top_k"] = where["flag"]
        flags["top_k"] = f"--k {where['flag']}"
    with pytest.raises(Error) as caught:
        build(Settings, flags, **kwargs)
    assert str(caught.value).startswith(expected), str(caught.value)
    if "toml" in where:
        assert str(caught.value).endswith("assistant.toml: must be between 16 and 512")
