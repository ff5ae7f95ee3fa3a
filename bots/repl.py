"""`assistant chat`: a terminal conversation over the documents.

On a terminal: line editing and persistent history (prompt_toolkit), rich rendering,
Ctrl-C cancels the answer in progress, Ctrl-D leaves. From a pipe: one question per
line, plain text, no escape codes. Slash commands work in both.
"""

from __future__ import annotations

import signal
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.style import Style
from rich.text import Text

from assistant.answering.question import WANTED
from assistant.conversation.resolve import Resolved, Turn
from assistant.conversation.session import Session
from assistant.engine import Engine
from assistant.links import Linker
from assistant.llm.drafter import Cancelled
from assistant.prompts import RELATED_HEADING
from assistant.types import Answer
from bots.live import Watcher
from bots.progress import sync_with_progress
from bots.settings import ServeSettings
from index.contained import NoSuchDocument
from index.text import short

T = TypeVar("T")

HELP = """Ask a question about the documents; follow-ups like "what else did he say?" use the conversation.
  /sources   full quotes of the last answer
  /open N    the passage around citation N, the cited words highlighted
  /why       what was retrieved, how sentences scored, what was chosen or dropped and why
  /reset     forget the conversation
  /help      this help
  /quit      leave (or Ctrl-D); Ctrl-C cancels an answer in progress"""
WHY_SENTENCES = 10  # candidate sentences /why lists
CONTEXT_CHARS = 400  # shown on each side of a cited span by /open
QUOTE_CHARS = 160  # of each quote shown under an answer (/sources shows them whole)


class Chat:
    """The terminal side of one conversation: reads lines, shows answers; the `Session` answers."""

    def __init__(self, engine: Engine, console: Console):
        self.engine = engine
        self.console = console
        self.session = Session(engine)
        # A cancelled answer may still be waiting on the LLM server; the next question doesn't wait for it.
        self._worker = ThreadPoolExecutor(max_workers=4, thread_name_prefix="answer")
        self._printing = threading.Lock()

    def handle(self, line: str) -> bool:
        """Act on one line of input; False means leave."""
        line = line.strip()
        if not line:
            return True
        if line.startswith("/"):
            return self.command(line)
        self.ask(line)
        return True

    def ask(self, question: str) -> None:
        streaming = self.engine.generative
        cancelled = threading.Event()

        def on_token(token: str) -> None:
            with self._printing:
                if cancelled.is_set():
                    raise Cancelled  # closes the stream: nothing more of this draft is read or shown
                self._print_token(token)

        job = self._worker.submit(
            self.session.ask, question, on_token=on_token if streaming else None, cancelled=cancelled
        )
        spinner = self.console.is_terminal and not streaming
        status: AbstractContextManager[Any] = (
            self.console.status("searching the documents…") if spinner else nullcontext()
        )
        try:
            with status:
                turn = _wait(job)
        except KeyboardInterrupt:
            with self._printing:  # no token of this draft gets printed after this point
                cancelled.set()  # not part of the conversation
            self.session = self.session.fork()  # the next question starts now, not when this one gives up
            self.console.print("\n[yellow]cancelled[/yellow]" if self.console.is_terminal else "cancelled")
            return
        if streaming and turn.answer.trace.draft:
            self.console.print("\n[dim]Checked against the sources:[/dim]" if self.console.is_terminal else "\n--")
        self.console.print(render_answer(turn.answer, turn.resolved, self.engine.link), soft_wrap=True)
        self.console.print()

    def _print_token(self, token: str) -> None:
        """The LLM's draft as it arrives; the verified answer replaces it when it is done."""
        self.console.print(token, end="", style="dim", markup=False, highlight=False, soft_wrap=True)

    def command(self, line: str) -> bool:
        name, _, arg = line.partition(" ")
        name = name.lower()
        if name in ("/quit", "/exit", "/q"):
            return False
        if name == "/help":
            self.console.print(HELP, markup=False, soft_wrap=True)
        elif name == "/reset":
            self.session.reset()
            self.console.print("Conversation cleared.")
        elif name in ("/sources", "/open", "/why"):
            last = self.session.last
            if last is None:
                self.console.print("Nothing asked yet.")
            elif name == "/sources":
                self.console.print(render_sources(last.answer, full=True, link=self.engine.link), soft_wrap=True)
            elif name == "/why":
                self.console.print(render_why(last), soft_wrap=True)
            else:
                self.console.print(self.open(last.answer, arg), soft_wrap=True)
        else:
            self.console.print(f"Unknown command {name}; /help lists them.", markup=False)
        return True

    def open(self, answer: Answer, arg: str) -> Text | str:
        try:
            n = int(arg)
            cite = next(c for c in answer.citations if c.n == n)
        except (ValueError, StopIteration):
            numbers = ", ".join(str(c.n) for c in answer.citations) or "none"
            return f"Usage: /open N, with N a citation of the last answer ({numbers})."
        try:
            text = self.engine.document(cite.source, cite.space)
        except NoSuchDocument:
            return f"{cite.source} is no longer in the index; ask again."
        if text[cite.start : cite.end] != cite.quote:
            return f"{cite.source} has changed since it was cited; ask again."
        return render_open(text, cite.source, cite.start, cite.end, cite.page)


def render_answer(answer: Answer, resolved: Resolved | None = None, link: Linker | None = None) -> Text:
    """The answer with its [n] markers, then numbered sources with location and quote."""
    out = Text()
    if resolved and resolved.follow_up:
        if resolved.understood != resolved.question:
            out.append(f"(taking this as: {resolved.understood})\n", style="dim")
        else:
            out.append(f"(taking this as about: {', '.join(resolved.carried)})\n", style="dim")
    if answer.llm_error:
        out.append(f"(LLM: {answer.llm_error}; answered with quotes)\n", style="yellow")
    out.append(answer.text, style="italic" if answer.abstained else None)
    out.highlight_regex(r"\[\d+\]", "bold cyan")
    if answer.dropped:
        out.append("\n\nLeft out, not supported by the sources:", style="yellow")
        for sentence in answer.dropped:
            out.append(f"\n  - {sentence}", style="dim")
    if answer.citations or answer.related:
        out.append("\n\n")
        out.append_text(render_sources(answer, full=False, link=link))
    return out


def render_sources(answer: Answer, full: bool, link: Linker | None = None) -> Text:
    """Numbered sources; for an abstention, the related passages, marked as not an answer. With
    a link template, each location is a hyperlink and its URL follows it."""
    out = Text()
    if answer.related:
        out.append(RELATED_HEADING + "\n", style="yellow")
    elif not answer.citations:
        out.append("No sources: the answer quotes nothing.")
        return out
    for c in answer.citations or answer.related:
        page = f", page {c.page}" if c.page is not None else ""
        out.append(f"[{c.n}] " if answer.citations else "  - ", style="bold cyan" if answer.citations else "dim")
        url = link(c) if link else None
        out.append(
            f"{c.titled} ({c.location}{page})" if c.section else f"{c.location}{page}", style=Style(bold=True, link=url)
        )
        if url:
            out.append(f"  {url}", style=Style(dim=True, link=url))
        if c.also:
            out.append(f"\n    also in {', '.join(p.location for p in c.also)}", style="dim")
        quote = c.quote if full else short(c.quote, QUOTE_CHARS)
        out.append(f"\n    {quote}\n", style="green" if answer.citations else "dim")
    out.rstrip()
    return out


def render_open(text: str, source: str, start: int, end: int, page: int | None) -> Text:
    """The passage around [start, end), cut at line breaks where possible, span highlighted."""
    lo = max(0, start - CONTEXT_CHARS)
    hi = min(len(text), end + CONTEXT_CHARS)
    nl = text.find("\n", lo, start)
    lo = nl + 1 if lo > 0 and nl >= 0 else lo
    nl = text.rfind("\n", end, hi)
    hi = nl if hi < len(text) and nl >= 0 else hi
    out = Text()
    out.append(f"{source}:{start}-{end}" + (f", page {page}" if page is not None else "") + "\n", style="bold")
    out.append(("…" if lo > 0 else "") + text[lo:start])
    out.append(">>", style="bold yellow")
    out.append(text[start:end], style="bold yellow reverse")
    out.append("<<", style="bold yellow")
    out.append(text[end:hi] + ("…" if hi < len(text) else ""))
    return out


def render_why(turn: Turn) -> Text:
    """What the engine recorded for the last answer: the query, the retrieved passages with
    the weights that scored them, and each candidate sentence with the reason it was quoted or not."""
    resolved, answer, trace = turn.resolved, turn.answer, turn.answer.trace
    out = Text()
    out.append("Query: ", style="bold")
    out.append(resolved.query)
    if resolved.carried:
        out.append(f"  (carried from earlier: {', '.join(resolved.carried)})", style="dim")
    if resolved.understood != resolved.question:
        out.append("\nRead as: ", style="bold")
        out.append(resolved.understood)
    rewrite = trace.rewrite
    if rewrite:
        used = "searched too" if rewrite.accepted else f"not used: {rewrite.why}"
        out.append("\nLLM rewrite: ", style="bold")
        out.append(f"{rewrite.text or '-'}  ({used})")
    if not trace.hits:
        out.append("\nNothing was retrieved.")
        return out
    verdict = trace.verdict
    if verdict:
        f = verdict.features
        out.append(
            f"\nAnswerable? chance {verdict.probability:.2f} (needs {verdict.threshold:.2f}) from best cosine "
            f"{f['dense']:.3f}, {f['missing_names']:.0f} of the question's names missing"
            + (f" ({', '.join(verdict.missing_names)})" if verdict.missing_names else "")
            + (f"; no sentence gives {WANTED[verdict.missing_kind]}" if verdict.missing_kind else "")
            + "\n",
            style="bold",
        )
    w = trace.weights
    share = w["sentence_share"]
    out.append(
        f"\nRetrieved passages (score = {share:g} × best sentence + {1 - share:g} × passage, each cosine + "
        f"{w['passage_keyword']:g} × BM25; ranks in dense / BM25 search):\n",
        style="bold",
    )
    for i, h in enumerate(trace.hits, 1):
        dense = f"#{h.dense_rank}" if h.dense_rank else "-"
        kw = f"#{h.keyword_rank}" if h.keyword_rank else "-"
        out.append(f"  {i}. {h.score:.3f}  dense {dense:>3} bm25 {kw:>3}  {h.source}:{h.start}-{h.end}  ")
        out.append(short(h.preview, 70) + "\n", style="dim")
    out.append(
        f"Sentences by their chance of holding the answer (first order: cosine + {w['sentence_keyword']:g} × BM25; "
        f"an answer needs top cosine ≥ {trace.min_score:.3f}; at most {trace.max_sentences} quoted, "
        f"further ones at ≥ {w['keep_ratio']:g} × the best's chance):\n",
        style="bold",
    )
    for s in trace.sentences[:WHY_SENTENCES]:
        mark, style = ("✓", "green") if s.chosen else ("✗", "red")
        chance = f"{s.chance:.2f}" if s.chance is not None else "  - "
        out.append(f"  {mark} {chance} (cos {s.dense:.3f}, bm25 {s.keyword:.2f}) ", style=style)
        out.append(f"{s.source}:{s.start}-{s.end} {short(s.text, 80)}  ")
        out.append(f"[{s.reason}]\n", style="dim")
    reasons = (trace.draft.dropped_reasons if trace.draft else None) or ()
    for i, sentence in enumerate(answer.dropped):
        reason = reasons[i] if i < len(reasons) else "its quote no longer matches the file"
        out.append(f"  ✗ LLM: {short(sentence, 80)}  ", style="red")
        out.append(f"[{reason}]\n", style="dim")
    out.rstrip()
    return out


def run_chat(engine: Engine, data_dir: Path, serve: ServeSettings, *, quiet: bool = False) -> int:
    """The loop: a status line (not when `quiet`), then questions until /quit, Ctrl-D or end of input."""
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    console = Console(highlight=False, soft_wrap=True)
    report = sync_with_progress(engine, wait=False)
    stats = engine.stats()
    status = (
        f"{stats['documents']} documents, {stats['chunks']} chunks · model {stats['model']} · index {stats['location']}"
    )
    if report is None:
        status += " · another process is updating the index; answering from it as it is"
    elif report.changed or report.skipped:
        status += f" · synced: {len(report.added)} added, {len(report.updated)} updated, {len(report.removed)} removed"
        status += f", {len(report.skipped)} skipped" if report.skipped else ""
    if not stats["documents"]:
        # Said even with -q: every answer would be "not covered" otherwise, with no hint why.
        where = "the spaces' folders" if engine.named else engine.settings.corpus
        console.print(
            f"No documents in {where} yet: add some (.txt, .md, .pdf, .docx, .html…); "
            "the chat picks them up as they arrive.",
            markup=False,
        )
    elif not quiet:
        console.print(status, style="dim", markup=False)
    chat = Chat(engine, console)
    watcher = Watcher(engine, interval=serve.watch_interval, watch_folder=serve.watch).start()
    try:
        return _loop(chat, console, data_dir, interactive)
    finally:
        watcher.stop()


def _loop(chat: Chat, console: Console, data_dir: Path, interactive: bool) -> int:
    if not interactive:
        for line in sys.stdin:
            if not chat.handle(line):
                break
        return 0
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory

    # Ctrl-C must reach the answer in progress even when whatever started us ignored SIGINT
    # (a job started with `&` by a script inherits SIGINT ignored, and so would we).
    signal.signal(signal.SIGINT, signal.default_int_handler)

    data_dir.mkdir(parents=True, exist_ok=True)
    session: PromptSession[str] = PromptSession(history=FileHistory(str(data_dir / "chat_history")))
    console.print("Type a question, or /help.", style="dim")
    while True:
        try:
            line = session.prompt("❯ ")
        except KeyboardInterrupt:
            continue  # Ctrl-C at the prompt clears the line
        except EOFError:
            return 0
        if not chat.handle(line):
            return 0


def _wait(job: Future[T]) -> T:
    # Short timeouts keep the main thread where Ctrl-C can reach it.
    while True:
        try:
            return job.result(timeout=0.1)
        except FutureTimeout:
            continue
