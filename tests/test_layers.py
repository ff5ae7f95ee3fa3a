"""Imports run one way, `bots -> assistant -> index`, read from the source (AST), not by importing it.

Inside `assistant/`, the answering stages import none of conversation, testing or integrations;
nothing in `assistant/` imports Slack or the job store; and no module imports itself back
through others (a cycle), counting imports inside functions too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from data import REPO

FORBIDDEN = {"index": {"assistant", "bots"}, "assistant": {"bots"}, "bots": set()}
# Module prefixes a part of the tree must not import (beyond the one-way rule above).
FORBIDDEN_MODULES = {
    "assistant/answering": ("assistant.conversation", "assistant.testing", "assistant.integrations"),
    "assistant": ("slack_bolt", "slack_sdk", "bots.state", "bots.slack"),
}
PACKAGES = ("index", "assistant", "bots")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, root: Path) -> set[str]:
    """Every module `path` imports, at module level or inside functions, relative imports resolved;
    `from package import name` counts as importing `package.name` when that is a module of ours."""
    own = module_name(path, root)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            out.add(module)
            out |= {f"{module}.{alias.name}" for alias in node.names if _is_module(root, f"{module}.{alias.name}")}
    return out


def _is_module(root: Path, name: str) -> bool:
    path = root.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def sources(root: Path) -> list[Path]:
    return sorted(p for package in PACKAGES if (root / package).is_dir() for p in (root / package).rglob("*.py"))


def violations(root: Path = REPO) -> list[str]:
    found = []
    for path in sources(root):
        where = path.relative_to(root)
        imported = imported_modules(path, root)
        for bad in sorted({m.split(".")[0] for m in imported} & FORBIDDEN[where.parts[0]]):
            found.append(f"{where} imports {bad}")
        for part, prefixes in FORBIDDEN_MODULES.items():
            if str(where).startswith(part + "/"):
                for m in sorted(imported):
                    if m.startswith(prefixes):
                        found.append(f"{where} imports {m}")
    return found


def cycles(root: Path = REPO) -> list[list[str]]:
    """Import cycles among our modules (each cycle once, as the modules around it)."""
    paths = {module_name(p, root): p for p in sources(root)}
    graph = {}
    for name, path in paths.items():
        # Importing `a.b.c` runs `a` and `a.b` first: each is an edge too.
        targets = set()
        for m in imported_modules(path, root):
            parts = m.split(".")
            targets |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
        graph[name] = sorted(t for t in targets if t in paths and t != name and not name.startswith(t + "."))
    found, state, stack = [], dict.fromkeys(graph, 0), []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph[node]:
            if state[nxt] == 1:
                found.append([*stack[stack.index(nxt) :], nxt])
            elif state[nxt] == 0:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in graph:
        if state[node] == 0:
            visit(node)
    return found


def test_imports_run_one_way():
    assert violations() == []


def test_there_is_no_import_cycle():
    assert cycles() == []


@pytest.mark.parametrize(
    "source, package, bad",
    [
        ("import bots.repl\n", "assistant", "bots"),
        ("def f():\n    from assistant.engine import Engine\n", "index", "assistant"),
        ("from bots.slack import app\n", "index", "bots"),
    ],
)
def test_the_check_catches_an_upward_import(tmp_path, source, package, bad):
    for p in FORBIDDEN:
        (tmp_path / p).mkdir()
    (tmp_path / package / "bad.py").write_text(source, encoding="utf-8")
    assert violations(tmp_path) == [f"{package}/bad.py imports {bad}"]


@pytest.mark.parametrize(
    "where, source, bad",
    [
        (
            "assistant/answering/bad.py",
            "from assistant.conversation.session import Session\n",
            "assistant.conversation",
        ),
        ("assistant/answering/bad.py", "def f():\n    from assistant.testing import plugin\n", "assistant.testing"),
        ("assistant/bad.py", "import slack_sdk\n", "slack_sdk"),
        ("assistant/bad.py", "from bots.state import State\n", "bots.state"),
    ],
)
def test_the_check_catches_a_layer_crossed_inside_assistant(tmp_path, where, source, bad):
    path = tmp_path / where
    path.parent.mkdir(parents=True)
    path.write_text(source, encoding="utf-8")
    assert any(line.startswith(f"{where} imports {bad}") for line in violations(tmp_path))


def test_the_cycle_check_catches_a_cycle_added_on_purpose(tmp_path):
    """The real tree, plus one import that closes a loop: the engine imported by a stage."""
    import shutil

    for package in PACKAGES:
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    assert cycles(tmp_path) == []
    stage = tmp_path / "assistant" / "answering" / "decide.py"
    stage.write_text(stage.read_text(encoding="utf-8") + "\n\ndef f():\n    from assistant.engine import Engine\n")
    found = cycles(tmp_path)
    assert found and any("assistant.engine" in c and "assistant.answering.decide" in c for c in found), found
