"""The `assistant` command: `ingest`, `ask`, `chat`, `spaces`, `slack`, `serve`, `mcp`,
`feedback`, `eval` and `completion`.

A front end like the others: it builds the settings, hands them to the engine (or the
chat, or the Slack app) and renders what comes back. Exit codes: 0 answered or abstained
(3 with `--fail-on-abstain` when one abstained), 1 an error (one line on stderr naming the
file, setting or flag; tracebacks go to the log), 2 usage (argparse's own).
"""

# PYTHON_ARGCOMPLETE_OK  (argcomplete's marker: this script completes its own arguments)
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from bots import version
from bots.render import feedback_json, render_feedback, render_text, report_json, sync_summary

if TYPE_CHECKING:
    from assistant.config import Settings
    from assistant.engine import Engine
    from assistant.evaluation.evaluate import GoldQuestion
    from assistant.spaces import Space
    from assistant.types import Answer
    from bots.settings import ServeSettings
    from index.sync import SyncReport

log = logging.getLogger("assistant")
# What a person at the terminal should hear while waiting (a one-time model export); -q silences it.
notice = logging.getLogger("assistant.notice")

ABSTAINED = 3  # --fail-on-abstain's exit code
SHELLS = ("bash", "zsh", "fish")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="assistant", description="Cited answers over a folder of documents.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    # Every command takes these (after its name): where its data lives, and how much it says.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="index, log and state (default: $ASSISTANT_DATA_DIR or ./.assistant)",
    )
    loud = common.add_mutually_exclusive_group()
    loud.add_argument("-q", "--quiet", action="store_true", help="print only answers, results and errors")
    loud.add_argument("-v", "--verbose", action="store_true", help="also print what the log gets, on stderr")
    corpus = argparse.ArgumentParser(add_help=False, parents=[common])
    corpus.add_argument("--corpus", type=Path, help="folder of documents (default: $ASSISTANT_CORPUS or ./corpus)")
    picked = argparse.ArgumentParser(add_help=False)
    picked.add_argument(
        "--space",
        action="append",
        default=[],
        metavar="NAME",
        help="a space of $ASSISTANT_SPACES to use (repeatable; default: every space)",
    )

    ingest = sub.add_parser("ingest", parents=[corpus, picked], help="sync the index with the corpus folder")
    ingest.add_argument("--json", action="store_true", help="print the summary as one JSON object")

    ask = sub.add_parser("ask", parents=[corpus, picked], help="answer a question (or '-' for one per line on stdin)")
    ask.add_argument("question", help="the question, or '-' to read one question per line from stdin")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON (one object per line)")
    ask.add_argument("--k", type=_top_k, help="chunks to retrieve, 1 to 100 (default: $ASSISTANT_TOP_K or 5)")
    ask.add_argument(
        "--fail-on-abstain", action="store_true", help=f"exit {ABSTAINED} when an answer abstained (for scripts)"
    )

    sub.add_parser(
        "chat", parents=[corpus, picked], help="a conversation in the terminal (or one question per line from a pipe)"
    )
    sub.add_parser(
        "spaces",
        parents=[corpus],
        help="list the folders answered from: the spaces of $ASSISTANT_SPACES, or the one corpus folder",
    )

    slack = sub.add_parser("slack", parents=[corpus], help="run the Slack bot (Socket Mode, or --http)")
    slack.add_argument("--http", action="store_true", help="serve Slack's HTTP events instead of Socket Mode")
    slack.add_argument("--port", type=int, default=3000, help="port for --http (default 3000)")
    slack.add_argument(
        "--host",
        default="0.0.0.0",  # noqa: S104 - Slack posts --http events from its own servers; Bolt checks each one's signature
        help="address for --http (default all)",
    )

    api = sub.add_parser(
        "serve", parents=[corpus], help="serve the HTTP API: /v1/ask and OpenAI-compatible /v1/chat/completions"
    )
    api.add_argument(
        "--host", default="127.0.0.1", help="address (default 127.0.0.1; others need ASSISTANT_API_TOKENS)"
    )
    api.add_argument("--port", type=int, default=8000, help="port (default 8000)")

    sub.add_parser("mcp", parents=[corpus], help="the MCP server on stdio, for agents and editors (tools ask, search)")

    fb = sub.add_parser(
        "feedback", parents=[common], help="list the 👍 and 👎 given to the Slack bot's answers (from the state store)"
    )
    fb.add_argument("--json", action="store_true", help="one JSON object per click and line (an export)")
    fb.add_argument(
        "--since", type=_since, metavar="DATE", help="only clicks from this date on (YYYY-MM-DD or ISO time, UTC)"
    )

    ev = sub.add_parser("eval", parents=[corpus, picked], help="score answers against gold questions")
    ev.add_argument(
        "questions",
        type=Path,
        help="JSONL of {id, question, doc, answerable, answers:[{text, start}]} (answered from --corpus); or a "
        "domain folder (questions.jsonl beside corpus/), or a folder of them: one row per domain and one for all",
    )
    ev.add_argument("--split", choices=["fit", "check"], help="only the questions of this split (their `split` field)")
    ev.add_argument("--json", action="store_true", help="print the metrics as JSON")
    ev.add_argument("--report", type=Path, help="write one JSON record per question here, for error analysis")
    ev.add_argument("--limit", type=int, help="only the first N questions")
    for bound, word in (("min", "at least"), ("max", "at most")):
        ev.add_argument(
            f"--{bound}",
            type=_floor,
            action="append",
            default=[],
            metavar="METRIC=VALUE",
            help=f"fail (exit 1) unless METRIC over all questions (with domains: in every domain that has "
            f"questions of its kind, and over all) is {word} VALUE, e.g. correctness=0.8 (repeatable)",
        )
    done = sub.add_parser(
        "completion", parents=[common], help='print shell completion code: eval "$(assistant completion bash)"'
    )
    done.add_argument("shell", choices=SHELLS)
    return parser


def _top_k(value: str) -> int:
    """`--k`: a whole number in the range ASSISTANT_TOP_K allows."""
    from assistant.config import Settings
    from bots.configure import allowed_range

    field = Settings.model_fields["top_k"]
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    low = next(m.ge for m in field.metadata if hasattr(m, "ge"))
    high = next(m.le for m in field.metadata if hasattr(m, "le"))
    if not low <= number <= high:
        raise argparse.ArgumentTypeError(f"must be {allowed_range(field.metadata)}, not {number}")
    return number


def _floor(value: str) -> tuple[str, float]:
    """`correctness=0.8` → the metric's key in the report and the bound."""
    from assistant.evaluation.evaluate import metric_key

    name, _, number = value.partition("=")
    key = metric_key(name.strip())
    if key is None:
        raise argparse.ArgumentTypeError(f"unknown metric {name.strip()!r}")
    try:
        return key, float(number)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected METRIC=VALUE with a number, got {value!r}") from None


def _since(value: str) -> float:
    """A date (or ISO time) as a UTC timestamp."""
    from datetime import UTC, datetime

    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD or ISO time): {value!r}") from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    _complete(parser)
    args = parser.parse_args(argv)
    if args.command == "completion":
        return _completion(args.shell)
    try:
        from bots.configure import warnings
        from index.errors import Error

        for line in warnings():  # a misspelt setting is silently ignored otherwise: said even with -q
            print(line, file=sys.stderr)
        settings = _settings(args)
        _setup_logging(settings.data_dir, args)
        return _run(args, settings)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the edge: one line for the user, the traceback for the log
        if isinstance(exc, Error):
            print(f"error: {exc}", file=sys.stderr)
        else:
            if logging.getLogger().handlers:  # else logging's last resort would print the traceback
                log.exception("unexpected failure")
            print(f"error: unexpected failure: {exc!r} (details in the log)", file=sys.stderr)
        return 1


# The settings a flag sets, and the flag's name (for errors naming what is at fault).
FLAGS = {"corpus": "--corpus", "top_k": "--k", "data_dir": "--data-dir"}


def _settings(args: argparse.Namespace) -> Settings:
    from assistant.config import LlmSettings, Settings
    from bots.configure import build, settings_file

    settings_file()  # a broken assistant.toml is one line naming it, before pydantic reads it
    overrides = {
        field: getattr(args, dest, None)
        for field, dest in (("corpus", "corpus"), ("top_k", "k"), ("data_dir", "data_dir"))
    }
    overrides = {k: v for k, v in overrides.items() if v is not None}
    flags = {k: f"{FLAGS[k]} {overrides[k]}" for k in overrides}
    return build(Settings, flags, llm=build(LlmSettings), **overrides)


def _serve() -> ServeSettings:
    """The serving settings (state store, workers, watching) of the long-running commands."""
    from bots.configure import build
    from bots.settings import ServeSettings

    return build(ServeSettings)


def _complete(parser: argparse.ArgumentParser) -> None:
    """Answer the shell's completion request and exit, when this run is one (argcomplete)."""
    if "_ARGCOMPLETE" in os.environ:
        import argcomplete

        argcomplete.autocomplete(parser)


def _completion(shell: str) -> int:
    """`assistant completion SHELL`: the code that makes SHELL complete `assistant`'s commands and flags."""
    import argcomplete

    print(argcomplete.shellcode(["assistant"], shell=shell))
    return 0


def _check_corpus(args: argparse.Namespace, settings: Settings) -> None:
    """The corpus folder exists and is a folder; else one line saying which and how to give another."""
    from index.errors import Error

    if settings.spaces or args.command not in ("ask", "chat", "ingest", "eval", "slack", "spaces", "serve", "mcp"):
        return
    if args.command == "eval" and args.questions.is_dir():
        return  # each domain brings its own corpus/
    from bots.configure import where

    path = settings.corpus
    if getattr(args, "corpus", None):
        given = f"--corpus {path}"
    elif "corpus" in settings.model_fields_set:
        given = where(type(settings), "corpus", {})  # ASSISTANT_CORPUS=…, in .env or in assistant.toml
    else:
        given = f"{path} (the default)"
    if path.is_file():
        raise Error(f"{given} is a file, not a folder: give the folder that holds your documents")
    if not path.exists():
        hint = "" if getattr(args, "corpus", None) else "; give one with --corpus DIR or ASSISTANT_CORPUS"
        raise Error(f"corpus folder not found: {given}{hint}")


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.engine import Engine
    from bots.progress import sync_with_progress
    from index.errors import Error
    from index.sync import SyncReport

    if args.command == "feedback":
        return _feedback(args, settings)
    _check_corpus(args, settings)
    if args.command == "ask" and args.question != "-":
        from assistant.answering.question import question_problem

        if problem := question_problem(args.question):
            raise Error(problem)  # before loading anything
    if args.command == "slack":
        from bots.configure import build
        from bots.slack.app import run
        from bots.slack.config import SlackSettings

        return run(settings, build(SlackSettings), _serve(), http=args.http, port=args.port, host=args.host)
    if args.command == "spaces":
        return _spaces(settings)
    if args.command == "mcp":
        from bots.api.server import run_stdio

        return run_stdio(settings, _serve())
    if args.command == "serve":
        from bots.api.server import run as serve

        return serve(settings, _serve(), host=args.host, port=args.port)
    if args.command == "eval" and args.questions.is_dir():
        return _eval_domains(args, settings)
    if args.command == "eval":
        from assistant.evaluation import evaluate

        gold = _chosen(evaluate.load_questions(args.questions), args)  # a bad file fails before any work
    engine = Engine(settings, spaces=_picked(settings, getattr(args, "space", [])))
    if args.command == "chat":
        from bots.repl import run_chat

        return run_chat(engine, settings.data_dir, _serve(), quiet=args.quiet)
    if args.command == "ingest" and engine.named and not args.json:
        # One line per space, each with its own report.
        reports = {name: r or SyncReport() for name, r in engine.sync_each(wait=True).items()}
        for name, each in reports.items():
            print(f"{name}: " + sync_summary(each, engine.indexes[name].location))
        report = SyncReport.combine(list(reports.items()))
    else:
        # Questions don't wait for an ingest another process is running: they use the index as it is.
        report = (
            sync_with_progress(
                engine,
                wait=args.command in ("ingest", "eval"),
                json_lines=args.command == "ingest" and args.json,
            )
            or _busy()
        )
    stats = engine.stats()  # once: each call asks every index for its counts
    if args.command == "ingest":
        if args.json:
            print(json.dumps(report_json(report), ensure_ascii=False))
        elif not engine.named:
            print(sync_summary(report, stats["location"]))
        if report.skipped and not (report.added or report.updated or report.unchanged):
            print(f"error: none of the {len(report.skipped)} files in {settings.corpus} could be read", file=sys.stderr)
            return 1
        if not stats["documents"]:
            notice.warning("notice: " + _nothing_to_answer_from(settings, report))
        return 0
    if args.command == "ask":
        _say_once(report, settings, engine, stats["location"])
    if not stats["documents"]:
        raise Error(_nothing_to_answer_from(settings, report))
    if args.command == "eval":
        return _eval(args, engine, gold)
    return _ask(args, engine)


def _ask(args: argparse.Namespace, engine: Engine) -> int:
    """Answer the question, or each line of stdin: exactly one answer (or error) per line, in order.
    Exit 1 if the one question had an error (a batch's line errors are in its objects, and the
    batch goes on), else 3 if `--fail-on-abstain` and any abstained, else 0."""
    questions = _stdin_questions() if args.question == "-" else [args.question]
    failed = abstained = False
    try:
        for question in questions:
            answer = _answer_one(engine, question)
            failed |= bool(answer.error)
            abstained |= answer.abstained and not answer.error
            if answer.llm_error:
                notice.warning("notice: %s; answered with quotes instead", answer.llm_error)
            if answer.error:
                print(f"error: {answer.error}", file=sys.stderr, flush=True)
            if args.json:
                print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
            elif not answer.error:
                print(render_text(answer, engine.link), flush=True)
    except BrokenPipeError:
        # The reader went away (`| head -1`): stop quietly, and keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if failed and args.question != "-":
        return 1
    return ABSTAINED if abstained and args.fail_on_abstain else 0


def _nothing_to_answer_from(settings: Settings, report: SyncReport) -> str:
    from index.documents import SUFFIXES

    where = "the spaces' folders" if settings.spaces else str(settings.corpus)
    if report.skipped:
        return f"no documents to answer from: none of the {len(report.skipped)} files in {where} could be read"
    kinds = ", ".join(sorted(SUFFIXES - {".htm", ".xhtml", ".markdown"}))
    return f"no documents in {where}: add some ({kinds}) and ask again"


def _say_once(report: SyncReport, settings: Settings, engine: Engine, location: str) -> None:
    """The sync line on stderr when something changed; a skipped file's reason once, until it changes."""
    from bots.seen import Reported

    fresh = Reported(settings.data_dir / "reported.json").fresh(report.skipped, engine.locate)
    if report.changed:
        notice.info(sync_summary(report, location, reasons=fresh))
    else:
        for source, reason in fresh:
            notice.info(f"skipped {source}: {reason}")


def _answer_one(engine: Engine, question: str | bytes) -> Answer:
    """One question of a batch: bad input or a failure is that line's error, never the batch's."""
    from assistant.types import Answer
    from index.errors import one_line

    if isinstance(question, bytes):
        shown = question.decode("utf-8", errors="replace")[:200]
        return Answer(shown, "", abstained=True, error="the line is not valid UTF-8")
    if not question.strip():
        return Answer(question, "", abstained=True, error="empty question")
    try:
        return engine.answer(question)
    except Exception as exc:
        log.exception("answering %r failed", question[:200])
        return Answer(question[:200], "", abstained=True, error=f"couldn't answer: {one_line(exc)}")


def _busy() -> SyncReport:
    from index.sync import SyncReport

    notice.info("notice: another process is updating the index; answering from it as it is")
    return SyncReport()


def _picked(settings: Settings, names: list[str]) -> list[Space] | None:
    """The spaces asked for on the command line (all of them by default); None without a spaces file."""
    from assistant import spaces
    from index.errors import Error

    if not settings.spaces:
        if names:
            raise Error("--space needs a spaces file (ASSISTANT_SPACES)")
        return None
    return spaces.pick(spaces.load(settings.spaces), names)


def _spaces(settings: Settings) -> int:
    """`assistant spaces`: each space's folder, what is indexed, and where it may be asked."""
    from assistant import spaces
    from assistant.engine import Engine
    from bots import access

    if not settings.spaces:
        # No spaces file: one space, the corpus folder, asked everywhere.
        stats = Engine(settings).index.stats()
        print(
            f"(default): {settings.corpus} · {stats['documents']} documents, {stats['chunks']} chunks · asked anywhere"
        )
        notice.info(
            "one folder, no spaces file: set ASSISTANT_SPACES to a spaces file for several (see docs/spaces.md)"
        )
        return 0
    engine = Engine(settings, spaces=spaces.load(settings.spaces))
    for space in engine.spaces:
        stats = engine.indexes[space.name].stats()
        print(
            f"{space.name}: {space.corpus} · {stats['documents']} documents, {stats['chunks']} chunks · "
            f"asked {access.where(space)}"
        )
    return 0


def _feedback(args: argparse.Namespace, settings: Settings) -> int:
    """`assistant feedback`: the recorded clicks, oldest first, as text or JSON lines."""
    from bots.state import State

    state = State(_serve().state(settings.data_dir))
    try:
        records = [feedback_json(r) for r in state.feedback(since=args.since)]
    finally:
        state.close()
    for record in records:
        print(json.dumps(record, ensure_ascii=False) if args.json else render_feedback(record), flush=True)
    if not records and not args.json:
        print("no feedback recorded" + (" since then" if args.since else ""), file=sys.stderr)
    return 0


def _eval(args: argparse.Namespace, engine: Engine, questions: list[GoldQuestion]) -> int:
    from assistant.evaluation import evaluate
    from bots.progress import progress_bar

    began = time.perf_counter()
    with progress_bar("questions", len(questions)) as advance:
        groups, records = evaluate.run(engine, questions, on_done=advance)
    seconds = time.perf_counter() - began
    each = f"{1000 * seconds / max(len(questions), 1):.0f} ms each"
    summary = f"{evaluate.table(groups)}\n\n{len(questions)} questions in {seconds:.1f} s ({each})"
    missed = evaluate.missed_bounds(groups["all"], minimum=args.min, maximum=args.max)
    return _eval_output(args, groups, records, seconds, summary, missed)


def _eval_output(
    args: argparse.Namespace,
    groups: dict[str, dict[str, float | int]],
    records: list[dict],
    seconds: float,
    summary: str,
    missed: list[str],
) -> int:
    """The report file, the metrics (JSON, or the table and a summary line), and one error line
    per missed bound; exit 1 if any."""
    if args.report:
        with open(args.report, "w", encoding="utf-8") as fh:
            for r in records:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    if args.json:
        finite = {
            g: {k: None if isinstance(v, float) and v != v else v for k, v in m.items()} for g, m in groups.items()
        }
        print(json.dumps({"metrics": finite, "seconds": round(seconds, 1)}, indent=1))  # null, not NaN
    else:
        print(summary)
    for line in missed:
        print(f"error: {line}", file=sys.stderr)
    return 1 if missed else 0


def _chosen(questions: list[GoldQuestion], args: argparse.Namespace) -> list[GoldQuestion]:
    """The questions of `--split` (all without it), the first `--limit` of them."""
    return [q for q in questions if not args.split or q.split == args.split][: args.limit]


def _eval_domains(args: argparse.Namespace, settings: Settings) -> int:
    """`assistant eval FOLDER`: each domain answered from its own corpus, one row each and one for all."""
    from assistant.engine import Engine
    from assistant.evaluation import evaluate
    from bots.progress import progress_bar, sync_with_progress
    from index.errors import Error

    domains = evaluate.domains_in(args.questions)
    if not domains:
        raise Error(f"{args.questions}: no questions.jsonl beside a corpus/ folder, there or in its subfolders")
    groups: dict[str, dict[str, float | int]] = {}
    records: list[dict] = []
    embedder = None
    began = time.perf_counter()
    for name, folder in domains.items():
        questions = _chosen(evaluate.load_questions(folder / evaluate.QUESTIONS), args)
        # One index per corpus folder, all in the one data dir; the model is loaded once.
        engine = Engine(settings.model_copy(update={"corpus": folder / evaluate.CORPUS}), embedder=embedder)
        embedder = engine.embedder
        sync_with_progress(engine, wait=True)
        with progress_bar(name, len(questions)) as advance:
            per_doc, done = evaluate.run(engine, questions, on_done=advance)
        groups[name] = per_doc["all"]
        records += [{**r, "domain": name} for r in done]
    groups["all"] = evaluate.summarize(r["verdict"] for r in records)
    seconds = time.perf_counter() - began
    summary = (
        f"{evaluate.domain_table(groups)}\n\n{len(records)} questions in {len(domains)} domains in {seconds:.1f} s"
    )
    missed = evaluate.missed_by_domain(groups, minimum=args.min, maximum=args.max)
    return _eval_output(args, groups, records, seconds, summary, missed)


def _stdin_questions() -> Iterator[str | bytes]:
    """Every line of stdin, decoded as UTF-8 (blank ones too); a line that isn't comes back as bytes."""
    for raw in sys.stdin.buffer:
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            yield raw.rstrip(b"\r\n")
            continue
        yield line.strip()  # a blank line too: it gets its own "empty question" error


def _setup_logging(data_dir: Path, args: argparse.Namespace) -> None:
    """Tracebacks and library chatter go to a log file in the data directory, not the terminal;
    notices (sync lines, warnings, a model being prepared) to stderr unless -q; with -v, the log too."""
    from index.errors import Error

    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(data_dir / "assistant.log", encoding="utf-8")
    except OSError as exc:
        raise Error(f"data dir {data_dir} can't be written ({exc.strerror}); give another with --data-dir") from exc
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    terminal = logging.StreamHandler(sys.stderr)
    if args.verbose:
        terminal.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(terminal)
    elif not args.quiet:
        terminal.setFormatter(logging.Formatter("%(message)s"))
        notice.addHandler(terminal)


if __name__ == "__main__":
    sys.exit(main())
