"""Plain-text rendering of answers and sync reports, for the command line and pipes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from assistant.links import Linker
from assistant.prompts import RELATED_HEADING
from assistant.types import Answer

if TYPE_CHECKING:
    from index.sync import SyncReport


def render_text(answer: Answer, link: Linker | None = None) -> str:
    """The answer, then numbered sources with file, offsets, link (with a template) and the
    quoted passage (for an abstention, the related passages, marked as not answering)."""
    lines = [answer.text]
    if answer.dropped:
        lines += ["", "Left out, not supported by the sources:"] + [f"  - {d}" for d in answer.dropped]
    if answer.citations:
        lines += ["", "Sources:"]
    elif answer.related:
        lines += ["", RELATED_HEADING]
    for c in answer.citations or answer.related:
        where = c.location + (f" (page {c.page})" if c.page is not None else "")
        where = f"{c.titled} ({where})" if c.section else where
        url = link(c) if link else None
        where += f"  {url}" if url else ""
        lines.append(f"  [{c.n}] {where}" if answer.citations else f"  - {where}")
        if c.also:
            lines.append(f"      also in {', '.join(p.location for p in c.also)}")
        lines.append(f"      {' '.join(c.quote.split())}")
    return "\n".join(lines) + "\n"


def sync_summary(report: SyncReport, location: str, reasons: Sequence[tuple[str, str]] | None = None) -> str:
    """One line of what a sync changed, then one line per skipped file (of `reasons` when given:
    those not said before)."""
    lines = [
        f"{len(report.added)} added, {len(report.updated)} updated, {len(report.removed)} removed, "
        f"{report.unchanged} unchanged, {len(report.skipped)} skipped; "
        f"{report.chunks} chunks in {location} ({report.seconds:.1f} s"
        + (f", {report.tokens:,} tokens embedded)" if report.tokens else ")")
    ]
    lines += [f"skipped {source}: {reason}" for source, reason in (report.skipped if reasons is None else reasons)]
    lines += [f"warning {source}: {what}" for source, what in report.warnings]
    return "\n".join(lines)


def report_json(report: SyncReport) -> dict[str, Any]:
    """`assistant ingest --json`: what changed, what was skipped and why, chunks now indexed."""
    return {
        "added": report.added,
        "updated": report.updated,
        "removed": report.removed,
        "unchanged": report.unchanged,
        "skipped": [{"source": s, "reason": r} for s, r in report.skipped],
        "warnings": [{"source": s, "warning": w} for s, w in report.warnings],
        "chunks": report.chunks,
        "chunks_written": report.chunks_written,
        "tokens": report.tokens,
        "tokens_per_s": round(report.tokens_per_s),
        "seconds": round(report.seconds, 2),
    }


def feedback_json(record: dict[str, Any]) -> dict[str, Any]:
    """One click as exported: its time in ISO 8601 (UTC), who, 👍 or 👎, and what was answered."""
    from datetime import UTC, datetime

    when = datetime.fromtimestamp(record["time"], UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    out = {**record, "time": when}
    if out.get("spaces") is None:
        out.pop("spaces", None)
    return out


def render_feedback(record: dict[str, Any]) -> str:
    """One click for the terminal: when, who and which way, then the question, answer and citations."""
    mark = {"up": "👍", "down": "👎"}.get(record.get("value", ""), record.get("value", ""))
    lines = [f"{record['time']}  {mark}  {record.get('user') or '?'}"]
    if record.get("spaces"):
        lines[0] += f"  (spaces: {', '.join(record['spaces'])})"
    lines.append(f"  Q: {record.get('question') or '(question not recorded)'}")
    lines.append(f"  A: {' '.join(str(record.get('answer') or '').split())}")
    for c in record.get("citations") or []:
        where = f"{c['space']}/{c['source']}" if c.get("space") else c["source"]
        lines.append(f"  [{c['n']}] {where}:{c['start']}-{c['end']}")
    return "\n".join(lines)
