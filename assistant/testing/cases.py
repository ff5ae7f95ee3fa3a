"""Answer cases in YAML, collected by the pytest plugin as tests, one per case:

    corpus: ../corpus                 # relative to this file; optional when the ini option is set
    cases:
      - question: What did Chief Beck say about working with Homeland Security?
        cites: {source: lapd.txt, contains: conjunction with Homeland Security}
      - question: Who won the 2020 World Series?
        abstains: true
      - question: Did the election change anything for his department?
        after: What did Chief Beck say about working with Homeland Security?   # a follow-up
        cites: {contains: We have not changed}

`cites` (a mapping, or a list of them) takes `source`, `contains`, `page` and `quote`
(exact); `not_cites` takes `source` and `contains`; `mode: llm` runs a case only when an
LLM is configured. A malformed file is one collection error naming the file, line and key.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from assistant.testing import asserts
from assistant.testing.engines import LLM_MARKER, configured_corpus, engine_for
from index.text import short

CASE_KEYS = ("question", "cites", "not_cites", "abstains", "after", "mode")
CITES_KEYS = ("source", "contains", "page", "quote")
NOT_CITES_KEYS = ("source", "contains")
MODES = ("llm",)


@dataclass(frozen=True)
class Case:
    """One question and what its answer must (not) cite, from line `line` of its file."""

    question: str
    line: int
    cites: tuple[dict[str, Any], ...] = ()
    not_cites: tuple[dict[str, Any], ...] = ()
    abstains: bool | None = None
    after: tuple[str, ...] = ()
    mode: str | None = None


class CaseError(Exception):
    """A malformed answers file: where, which key, and what is wrong."""

    def __init__(self, path: Path, line: int, key: str, problem: str):
        super().__init__(f"{path}:{line}: {key}: {problem}")


def load(path: Path) -> tuple[Path | None, list[Case]]:
    """The corpus the file names (resolved against its folder, if any) and its cases."""
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise CaseError(path, line, "yaml", str(exc.problem or exc)) from exc
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CaseError(path, 1, "file", str(exc)) from exc
    if not isinstance(root, yaml.MappingNode):
        raise CaseError(path, _line(root), "file", "expected a mapping with `cases:` (and optionally `corpus:`)")
    top = _mapping(path, root, ("corpus", "cases"), "file")
    corpus = None
    if "corpus" in top:
        corpus = (path.parent / _scalar(path, top["corpus"], "corpus", str)).resolve()
    if "cases" not in top:
        raise CaseError(path, _line(root), "cases", "missing")
    cases_node = top["cases"]
    if not isinstance(cases_node, yaml.SequenceNode) or not cases_node.value:
        raise CaseError(path, _line(cases_node), "cases", "expected a list of cases")
    return corpus, [_case(path, node) for node in cases_node.value]


def _case(path: Path, node: yaml.Node) -> Case:
    if not isinstance(node, yaml.MappingNode):
        raise CaseError(path, _line(node), "case", "expected a mapping with `question:`")
    fields = _mapping(path, node, CASE_KEYS, "case")
    if "question" not in fields:
        raise CaseError(path, _line(node), "question", "missing")
    question = _scalar(path, fields["question"], "question", str).strip()
    if not question:
        raise CaseError(path, _line(fields["question"]), "question", "empty")
    cites = _criteria(path, fields.get("cites"), "cites", CITES_KEYS)
    not_cites = _criteria(path, fields.get("not_cites"), "not_cites", NOT_CITES_KEYS)
    abstains = _scalar(path, fields["abstains"], "abstains", bool) if "abstains" in fields else None
    if abstains and cites:
        raise CaseError(path, _line(fields["abstains"]), "abstains", "a case can't both abstain and cite")
    if not (cites or not_cites or abstains is not None):
        raise CaseError(path, _line(node), "case", "expects nothing: give cites, not_cites or abstains")
    after: tuple[str, ...] = ()
    if "after" in fields:
        value = fields["after"]
        items = value.value if isinstance(value, yaml.SequenceNode) else [value]
        after = tuple(_scalar(path, n, "after", str) for n in items)
    mode = _scalar(path, fields["mode"], "mode", str) if "mode" in fields else None
    if mode is not None and mode not in MODES:
        raise CaseError(path, _line(fields["mode"]), "mode", f"unknown mode {mode!r} (known: {', '.join(MODES)})")
    return Case(question, _line(node), cites, not_cites, abstains, after, mode)


def _criteria(path: Path, node: yaml.Node | None, key: str, allowed: tuple[str, ...]) -> tuple[dict[str, Any], ...]:
    """`cites: {…}` or `cites: [{…}, {…}]`: each a mapping of the allowed keys."""
    if node is None:
        return ()
    items = node.value if isinstance(node, yaml.SequenceNode) else [node]
    out = []
    for item in items:
        if not isinstance(item, yaml.MappingNode):
            raise CaseError(path, _line(item), key, f"expected a mapping of {', '.join(allowed)}")
        fields = _mapping(path, item, allowed, key)
        if not fields:
            raise CaseError(path, _line(item), key, f"give at least one of {', '.join(allowed)}")
        kinds = {"page": int}
        out.append({k: _scalar(path, v, f"{key}.{k}", kinds.get(k, str)) for k, v in fields.items()})
    return tuple(out)


def _mapping(path: Path, node: yaml.MappingNode, allowed: tuple[str, ...], what: str) -> dict[str, yaml.Node]:
    fields: dict[str, yaml.Node] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value)
        if key not in allowed:
            raise CaseError(path, _line(key_node), key, f"unknown key in {what} (expected {', '.join(allowed)})")
        fields[key] = value_node
    return fields


def _scalar(path: Path, node: yaml.Node, key: str, kind: type) -> Any:
    value = yaml.SafeLoader("").construct_object(node) if isinstance(node, yaml.ScalarNode) else None
    if kind is str and isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)  # `contains: 30` means the text "30"
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise CaseError(path, _line(node), key, f"expected {kind.__name__ if kind is not str else 'text'}")
    return value


def _line(node: yaml.Node | None) -> int:
    return node.start_mark.line + 1 if node is not None else 1


class AnswersFile(pytest.File):
    """A `*.answers.yml`: one test per case."""

    def collect(self) -> Iterator[pytest.Item]:
        try:
            corpus, cases = load(self.path)
        except CaseError as exc:
            raise self.CollectError(str(exc)) from exc
        for n, case in enumerate(cases, 1):
            item = AnswerCase.from_parent(self, name=f"{n}: {short(case.question, 60)}", case=case, corpus=corpus)
            if case.mode == "llm":
                item.add_marker(LLM_MARKER)
            yield item


class AnswerCase(pytest.Item):
    """One case: ask (after its earlier questions, if any) and check the answer."""

    def __init__(self, *, case: Case, corpus: Path | None, **kwargs: Any):
        super().__init__(**kwargs)
        self.case = case
        self.corpus = corpus

    def runtest(self) -> None:
        from assistant.conversation.session import Session

        corpus = self.corpus or configured_corpus(self.config)
        if corpus is None:
            raise CaseError(self.path, 1, "corpus", "no corpus: give `corpus:` in the file or set assistant_corpus")
        session = Session(engine_for(self.config, corpus))
        for earlier in self.case.after:
            session.ask(earlier)
        answer = session.ask(self.case.question).answer
        for criteria in self.case.cites:
            asserts.assert_cites(answer, **criteria)
        for criteria in self.case.not_cites:
            asserts.assert_not_cites(answer, **criteria)
        if self.case.abstains is True:
            asserts.assert_abstains(answer)
        elif self.case.abstains is False:
            asserts.assert_answers(answer)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        """The assertion's own message (question, answer, citations against what was expected), not a traceback."""
        if isinstance(excinfo.value, AssertionError | CaseError):
            where = f"{self.path.name}:{self.case.line}"
            return f"{where}: {excinfo.value}"
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line - 1, f"{self.path.name}:{self.case.line}: {self.case.question}"
