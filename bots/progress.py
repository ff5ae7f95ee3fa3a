"""Progress bars on a terminal's stderr; silent in pipes and logs."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from index.text import short

if TYPE_CHECKING:
    from assistant.engine import Engine
    from index.sync import Progress, SyncReport


@contextmanager
def progress_bar(label: str, total: int) -> Iterator[Callable[[], None]]:
    """Yields `advance()`; draws a rich bar only when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)


def sync_with_progress(engine: Engine, *, wait: bool = True, json_lines: bool = False) -> SyncReport | None:
    """`engine.sync()`, saying how far it is once there is work to do: files, chunks, tokens/s
    and time left as a rich bar on a terminal, or as JSON lines on stderr (`json_lines`,
    for `ingest --json` in a pipe); quiet otherwise."""
    if sys.stderr.isatty():
        return _with_bar(engine, wait)
    if json_lines:
        return engine.sync(wait=wait, on_progress=_json_line)
    return engine.sync(wait=wait)


def progress_json(p: Progress) -> dict[str, Any]:
    """The figures of one progress report, as `ingest --json` prints them."""
    return {
        "file": p.current,
        "files_done": p.files_done,
        "files_total": p.files_total,
        "chunks": p.chunks,
        "tokens": p.tokens,
        "tokens_per_s": round(p.tokens_per_s),
        "elapsed_s": round(p.elapsed, 1),
        "remaining_s": None if p.remaining is None else round(p.remaining, 1),
    }


def _json_line(p: Progress) -> None:
    print(json.dumps({"progress": progress_json(p)}, ensure_ascii=False), file=sys.stderr, flush=True)


def describe(p: Progress) -> str:
    """One line: files, chunks, tokens/s and the time left."""
    left = "estimating time left" if p.remaining is None else f"about {_duration(p.remaining)} left"
    return f"{p.files_done}/{p.files_total} files · {p.chunks:,} chunks · {p.tokens_per_s:,.0f} tokens/s · {left}"


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def _with_bar(engine: Engine, wait: bool) -> SyncReport | None:
    from rich.console import Console
    from rich.progress import BarColumn, TextColumn
    from rich.progress import Progress as Bar

    bar = Bar(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[figures]}"),
        console=Console(stderr=True),
        transient=True,
    )
    task = None

    def show(p: Progress) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task("", total=1.0, figures="")
        done = 0.0 if p.remaining is None else p.elapsed / max(p.elapsed + p.remaining, 1e-9)
        label = f"indexing {short(p.current, 40)}" if p.current else "embedding and writing"
        bar.update(task, completed=done, description=label, figures=describe(p))

    try:
        return engine.sync(wait=wait, on_progress=show)
    finally:
        if task is not None:
            bar.stop()
