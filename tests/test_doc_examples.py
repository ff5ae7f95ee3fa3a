"""Every shell example in the README and docs/ is run, and its output compared where the docs
show one, so examples can't drift from what the command does.

What counts as an example: each fenced `console` block (`$ command` lines, each followed by
its output: stdout and stderr as a terminal shows them; a line `...` stands for any lines,
`...` inside a line for any text) and each `sh` block (every command line; when the next
fenced block is a `text` block within a few lines, it is the last command's stdout). A
command whose shown output ends with an error line (`error: …`, or argparse's
`assistant ask: error: …`) must fail; any other must exit 0.
Not run: installing (`pip install …`, making a venv: what CI's `.ci/run` does from a clean
clone) and a block under `<!-- not run: reason -->` (each says why: it needs a server we
don't have here, or is a benchmark or the suite itself).

The commands run in a temporary folder holding a copy of `corpus/`, `eval/` and a `~/handbook`
(tests/handbook), with the session's model cache and no network.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from data import SCRIPT

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SETUP = re.compile(r"^\s*(pip install\b|python3? -m venv\b|\. \.venv/bin/activate|source \.venv)")
NOT_RUN = re.compile(r"<!-- not run: (.+?) -->")
FENCE = re.compile(r"^```(\w*)\s*$")


@dataclass
class Example:
    doc: str
    line: int
    command: str
    expected: str | None  # None: not compared, only its exit code
    combined: bool  # expected is stdout and stderr together (console) or stdout alone (sh + text)


def blocks(path: Path) -> list[tuple[int, str, list[str], str]]:
    """(first line, language, lines, the `not run` reason or "") of each fenced block."""
    out, lines = [], path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        j = next(k for k in range(i + 1, len(lines)) if lines[k].startswith("```"))
        before = next((x for x in reversed(lines[max(0, i - 3) : i]) if x.strip()), "")
        reason = NOT_RUN.search(before)
        out.append((i + 1, m.group(1), lines[i + 1 : j], reason.group(1) if reason else ""))
        i = j + 1
    return out


def examples(path: Path) -> tuple[list[Example], list[str]]:
    """The examples of one document, in order, and what was left out and why."""
    found: list[Example] = []
    skipped: list[str] = []
    bs = blocks(path)
    for n, (line, lang, body, reason) in enumerate(bs):
        if lang not in ("console", "sh"):
            continue
        if reason:
            skipped.append(f"{path.name}:{line}: {reason}")
            continue
        if lang == "console":
            for k, text in enumerate(body):
                if text.startswith("$ "):
                    rest = body[k + 1 :]
                    end = next((e for e, x in enumerate(rest) if x.startswith("$ ")), len(rest))
                    found.append(Example(path.name, line + k + 1, text[2:], "\n".join(rest[:end]), True))
            continue
        commands = [c for c in (_without_setup(x) for x in body if x.strip() and not x.lstrip().startswith("#")) if c]
        after = bs[n + 1] if n + 1 < len(bs) else None
        shown = after and after[1] == "text" and after[0] - (line + len(body)) <= 6
        for k, command in enumerate(commands):
            last = k == len(commands) - 1
            found.append(Example(path.name, line, command, "\n".join(after[2]) if shown and last else None, False))
    return found, skipped


def _without_setup(command: str) -> str:
    parts = [p for p in command.split(" && ") if not SETUP.match(p)]
    return " && ".join(parts).strip()


def matches(expected: str, actual: str) -> bool:
    """`actual` as `expected` shows it: line by line (trailing spaces and blank lines aside),
    `...` alone on a line for any lines, `...` inside a line for any text; a no-break space is a space."""
    # A no-break space in a document prints as one, but no reader can tell it from a space.
    expected, actual = expected.replace("\xa0", " "), actual.replace("\xa0", " ")
    pattern = []
    for line in expected.rstrip().splitlines():
        if line.strip() == "...":
            pattern.append(r"(?:[^\n]*\n)*?")
        else:
            pattern.append(".*".join(map(re.escape, line.rstrip().split("..."))) + r"[ \t]*\n")
    if not pattern:
        return not actual.strip()
    text = "\n".join(x.rstrip() for x in actual.rstrip().splitlines()) + "\n"
    return re.fullmatch("".join(pattern), text) is not None


def test_matching_rules():
    assert matches("a\nb", "a\nb\n\n")
    assert not matches("a\nb", "a\nc")
    assert matches("a\n...\nd", "a\nb\nc\nd")
    assert matches('{"score": ...}', '{"score": 0.83}')
    assert not matches("leave.md:9-148", "leave.md:9-147")
    assert not matches("a", "a\nb")  # nothing unshown after the output, unless `...` says so
    assert matches("", "\n") and not matches("", "oops")


@pytest.fixture
def workdir(tmp_path) -> Path:
    """A fresh folder for each document's examples, as a reader starting on that page has."""
    root = tmp_path
    shutil.copytree(ROOT / "corpus", root / "corpus")
    shutil.copytree(ROOT / "eval", root / "eval", ignore=shutil.ignore_patterns("domains", "__pycache__"))
    shutil.copytree(ROOT / "tests" / "handbook", root / "home" / "handbook")
    (root / "config").mkdir()
    return root


@pytest.mark.slow
@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_examples_do_what_the_docs_say(doc, workdir, model_dir, embedder):
    """(`embedder`: the model is exported before, so no first-run notice lands in an output.)"""
    found, skipped = examples(doc)
    if not found:
        pytest.skip(f"no shell examples in {doc.name}" + (f" ({'; '.join(skipped)})" if skipped else ""))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(
        PATH=f"{SCRIPT.parent}:{env['PATH']}",
        HOME=str(workdir / "home"),
        XDG_CONFIG_HOME=str(workdir / "config"),
        ASSISTANT_MODEL_DIR=str(model_dir),
        HF_HUB_OFFLINE="1",
        HTTP_PROXY="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
        NO_PROXY="",
    )
    # One shell per document, so `export` carries to the commands after it, as when a reader types them.
    out = workdir / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    script = ["set +e"]
    for i, ex in enumerate(found):
        redirect = f"> {out}/{i}.out 2>&1" if ex.combined else f"> {out}/{i}.out 2> {out}/{i}.err"
        script.append(f"{{ {ex.command}\n}} {redirect} < /dev/null; echo $? > {out}/{i}.rc")
    subprocess.run(["bash", "-c", "\n".join(script)], cwd=workdir, env=env, timeout=900, check=False)
    problems = []
    for i, ex in enumerate(found):
        where = f"{ex.doc}:{ex.line}: $ {ex.command}"
        rc = int((out / f"{i}.rc").read_text())
        actual = (out / f"{i}.out").read_text(encoding="utf-8", errors="replace")
        last = ex.expected.strip().splitlines()[-1] if ex.expected and ex.expected.strip() else ""
        fails = re.match(r"error:|\S+ \S+: error:", last)
        if bool(fails) != (rc != 0):
            err = (out / f"{i}.err").read_text() if (out / f"{i}.err").exists() else ""
            problems.append(f"{where}\n  exit {rc}\n{actual}{err}")
        elif ex.expected is not None and not matches(ex.expected, actual):
            problems.append(f"{where}\n  shown:\n{ex.expected}\n  got:\n{actual}")
    assert not problems, "\n\n".join(problems)


def test_the_readme_fits_on_two_screens():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; move detail to docs/"
