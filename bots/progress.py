"""Progress bars on a terminal's stderr; silent in pipes and logs."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.engine import Engine
    from index.sync import SyncReport


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


def sync_with_progress(engine: Engine, *, wait: bool = True) -> SyncReport | None:
    """`engine.sync()`, drawing bars of files and of a big file's embedding batches on a
    terminal once there is work to do; quiet in pipes."""
    if not sys.stderr.isatty():
        return engine.sync(wait=wait)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def show(name: str, description: str, done: int, total: int) -> None:
        if not tasks:
            bar.start()
        if name not in tasks:
            tasks[name] = bar.add_task(description, total=total)
        bar.update(tasks[name], completed=done, total=total, description=description, visible=done < total)

    try:
        return engine.sync(
            on_file=lambda source, done, total: show("files", f"indexing {source}", done, total),
            wait=wait,
            on_batch=lambda done, total: show("batches", "  embedding passages", done, total),
        )
    finally:
        if tasks:
            bar.stop()
