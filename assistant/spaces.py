"""Spaces: several document folders in one assistant, each with who may ask it.

A spaces file (TOML, named by ASSISTANT_SPACES) lists them:

    [spaces.hr]
    corpus = "docs/hr"          # relative to the spaces file
    slack_channels = ["C0HR"]   # channel ids, or "*" for every channel and DM
    slack_users = ["U0LEAD"]    # users whose DMs with the bot may ask it
    api_users = ["ana"]         # users of the HTTP API / MCP (ASSISTANT_API_TOKENS), or "*"
    source_url = "https://wiki.acme.com/hr/{source_stem}"  # optional: where people read a file

A question searches only the spaces visible where it was asked (`bots.access` decides
which). Without a spaces file there is one space, the corpus folder, visible everywhere.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant import links
from index.errors import Error

EVERYWHERE = "*"
_KEYS = {"corpus", "slack_channels", "slack_users", "api_users", "source_url"}
_NAME = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Space:
    """A named folder, and who may ask it as the spaces file says (the front ends apply that:
    `bots.access`; the engine only searches the spaces it is given)."""

    name: str
    corpus: Path
    slack_channels: tuple[str, ...] = (EVERYWHERE,)
    slack_users: tuple[str, ...] = ()
    source_url: str | None = None  # the space's own link template (else ASSISTANT_SOURCE_URL)
    api_users: tuple[str, ...] = ()  # who may ask it through the HTTP API and MCP ("*": every user)


def load(path: Path) -> list[Space]:
    """The spaces of a spaces file; anything wrong with it is one `Error` line naming it."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise Error(f"spaces file {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise Error(f"spaces file {path}: not valid TOML ({exc})") from exc
    unknown = sorted(set(data) - {"spaces"})
    if unknown:
        raise Error(f"spaces file {path}: unknown key {unknown[0]!r} (expected [spaces.NAME] tables)")
    tables = data.get("spaces")
    if not isinstance(tables, dict) or not tables:
        raise Error(f"spaces file {path}: no [spaces.NAME] tables")
    out = []
    for name, table in tables.items():
        where = f"spaces file {path}: space {name!r}"
        if not _NAME.fullmatch(name):
            raise Error(f"{where}: a name is letters, digits, '-' and '_'")
        if not isinstance(table, dict):
            raise Error(f"{where}: not a table")
        bad = sorted(set(table) - _KEYS)
        if bad:
            raise Error(f"{where}: unknown key {bad[0]!r} (expected {', '.join(sorted(_KEYS))})")
        if "corpus" not in table:
            raise Error(f"{where}: no corpus folder")
        corpus = (Path(path).parent / str(table["corpus"])).resolve()
        if not corpus.is_dir():
            raise Error(f"{where}: corpus folder not found: {corpus}")
        channels = _strings(table.get("slack_channels", [EVERYWHERE]), f"{where}: slack_channels")
        users = _strings(table.get("slack_users", []), f"{where}: slack_users")
        api_users = _strings(table.get("api_users", []), f"{where}: api_users")
        source_url = table.get("source_url")
        if source_url is not None and (not isinstance(source_url, str) or links.problem(source_url)):
            why = links.problem(source_url) if isinstance(source_url, str) else "expected a string"
            raise Error(f"{where}: source_url {why}")
        out.append(Space(name, corpus, channels, users, source_url, api_users))
    folders = [s.corpus for s in out]
    if len(set(folders)) != len(folders):
        twice = next(f for f in folders if folders.count(f) > 1)
        raise Error(f"spaces file {path}: two spaces share the folder {twice}")
    return out


def split_source(source: str, named: bool) -> tuple[str | None, str]:
    """(space, path) of a source as the engine names it: "space/path" when spaces are named,
    else (None, the path itself)."""
    if named and "/" in source:
        space, path = source.split("/", 1)
        return space, path
    return None, source


def pick(spaces: Sequence[Space], names: Sequence[str]) -> list[Space]:
    """The named spaces (all of them when no name is given); an unknown name is an `Error`."""
    if not names:
        return list(spaces)
    known = {s.name: s for s in spaces}
    for n in names:
        if n not in known:
            raise Error(f"no space named {n!r} (spaces: {', '.join(known)})")
    return [known[n] for n in dict.fromkeys(names)]


def _strings(value: object, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Error(f"{what}: expected a list of strings")
    return tuple(value)
