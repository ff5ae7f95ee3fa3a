"""Imports run one way, `bots -> assistant -> index`, read from the source (AST), not by importing it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from data import REPO

FORBIDDEN = {"index": {"assistant", "bots"}, "assistant": {"bots"}, "bots": set()}


def imported_packages(path: Path) -> set[str]:
    """The top-level packages `path` imports, at module level or inside functions (relative imports resolved)."""
    package = path.relative_to(REPO).parts[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            out.add(package if node.level else (node.module or "").split(".")[0])
    return out


def violations(root: Path = REPO) -> list[str]:
    found = []
    for package, forbidden in FORBIDDEN.items():
        for path in sorted((root / package).rglob("*.py")):
            for bad in sorted(imported_packages(path) & forbidden):
                found.append(f"{path.relative_to(root)} imports {bad}")
    return found


def test_imports_run_one_way():
    assert violations() == []


@pytest.mark.parametrize(
    "source, package, bad",
    [
        ("import bots.repl\n", "assistant", "bots"),
        ("def f():\n    from assistant.engine import Engine\n", "index", "assistant"),
        ("from bots.slack import app\n", "index", "bots"),
    ],
)
def test_the_check_catches_an_upward_import(tmp_path, monkeypatch, source, package, bad):
    import test_layers

    for p in FORBIDDEN:
        (tmp_path / p).mkdir()
    (tmp_path / package / "bad.py").write_text(source, encoding="utf-8")
    monkeypatch.setattr(test_layers, "REPO", tmp_path)
    assert violations(tmp_path) == [f"{package}/bad.py imports {bad}"]
