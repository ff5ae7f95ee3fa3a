"""Build `eval/domains/<domain>/` (documents as files, `questions.jsonl`, a README naming
source, commit and licence) from public question-answering data sets, each read from a
snapshot of its repository (a bare git directory, as the search tool's `fetch` leaves it).

    python eval/build_domains.py --mirror /work/.mirror --out eval/domains

Every question gets `split`: "fit" or "check", by a hash of its document (of its conversation
in the conversational domain, whose passages are shared), so no document is in both. Gold is
either an answer span (`"evidence": "span"`, SQuAD style) or the passage that answers
(`"evidence": "passage"`, where the data set marks passages, not spans).

Unanswerable questions are the data set's own where it has them (conversational); elsewhere
(encyclopedia, medicine) they are made by leaving the passage that answers out of its
document, and kept only if no gold answer's words remain anywhere in that document: the
document still covers the topic, so these are near misses, not off-topic questions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.evaluation.evaluate import answer_correct

FIT_SHARE = 6  # of 10: fit, the rest check


@dataclass
class Source:
    repo: str  # owner/name
    commit: str
    licence: str
    about: str


@dataclass
class Domain:
    """What one builder makes: documents by file name, and question records."""

    docs: dict[str, str] = field(default_factory=dict)
    questions: list[dict[str, Any]] = field(default_factory=list)
    pdfs: dict[str, bytes] = field(
        default_factory=dict
    )  # documents that are files of their own (`docs` holds their text)


def split_of(key: str) -> str:
    return "fit" if int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) % 10 < FIT_SHARE else "check"


def safe_name(title: str) -> str:
    name = re.sub(r"[^\w.-]+", "_", title).strip("_")[:80]
    return name or "doc"


class Snapshot:
    """Files of one repository at one commit, read with `git show`."""

    def __init__(self, mirror: Path, repo: str, commit: str | None = None):
        self.git = mirror / repo.replace("/", "+") / "repo"
        self.commit = (
            commit or subprocess.check_output(["git", "-C", str(self.git), "rev-parse", "HEAD"], text=True).strip()
        )

    def read(self, path: str) -> bytes:
        return subprocess.check_output(["git", "-C", str(self.git), "show", f"{self.commit}:{path}"])

    def listing(self, folder: str) -> list[str]:
        out = subprocess.check_output(
            ["git", "-C", str(self.git), "ls-tree", "--name-only", self.commit, folder + "/"], text=True
        )
        return out.split()


def _join(parts: list[str]) -> tuple[str, list[int]]:
    """Paragraphs joined by a blank line, and where each starts."""
    starts, pos = [], 0
    for p in parts:
        starts.append(pos)
        pos += len(p) + 2
    return "\n\n".join(parts), starts


def _withheld(text: str, answers: Iterable[str]) -> bool:
    """None of the answers' words are left in `text`: the question is truly unanswerable there
    (the eval's own test of an answer's words, so both agree)."""
    return not answer_correct(text, [(a, 0) for a in answers])


# --- encyclopedia: XQuAD (English), SQuAD v1.1 dev paragraphs ---------------------------------


def encyclopedia(snap: Snapshot) -> Domain:
    data = json.loads(snap.read("xquad.en.json"))["data"]
    out = Domain()
    for article in data:
        title = article.get("title") or article["paragraphs"][0]["context"].split(".")[0]
        name = safe_name(title) + ".txt"
        paragraphs = article["paragraphs"]
        # Every fifth paragraph (from the third) is left out: its questions ask about what the
        # rest of the article doesn't say.
        kept = [p for i, p in enumerate(paragraphs) if i % 5 != 2]
        text, starts = _join([p["context"] for p in kept])
        out.docs[name] = text
        for i, p in enumerate(paragraphs):
            for qa in p["qas"]:
                rec = {"id": qa["id"], "question": qa["question"], "doc": name, "split": split_of(name)}
                if i % 5 == 2:
                    if _withheld(text, [a["text"] for a in qa["answers"]]):
                        out.questions.append({**rec, "answerable": False})
                    continue
                base = starts[kept.index(p)]
                answers = [{"text": a["text"], "start": base + a["answer_start"]} for a in qa["answers"]]
                assert all(text[a["start"] : a["start"] + len(a["text"])] == a["text"] for a in answers)
                out.questions.append({**rec, "answerable": True, "answers": answers})
    return out


# --- policy: PolicyQA (OPP-115 privacy policies), dev split ------------------------------------


def policy(snap: Snapshot, per_doc: int = 40) -> Domain:
    data = json.loads(snap.read("data/dev.json"))["data"]
    out = Domain()
    for article in data:
        name = safe_name(article["title"]) + ".txt"
        text, starts = _join([p["context"] for p in article["paragraphs"]])
        out.docs[name] = text
        # The data set asks each question of one policy ("this website"); in a folder of twenty
        # policies a person names the one they mean, so the site's name leads the question.
        site = article["title"].split(".")[0].capitalize()
        by_question: dict[str, dict[str, Any]] = {}
        for p, base in zip(article["paragraphs"], starts, strict=True):
            for qa in p["qas"]:
                rec = by_question.setdefault(
                    qa["question"],
                    {
                        "id": qa["id"],
                        "question": f"{site}: {qa['question']}",
                        "doc": name,
                        "split": split_of(name),
                        "answerable": True,
                        "answers": [],
                    },
                )
                for a in qa["answers"]:
                    span = {"text": a["text"], "start": base + a["answer_start"]}
                    assert text[span["start"] : span["start"] + len(a["text"])] == a["text"]
                    if span not in rec["answers"]:
                        rec["answers"].append(span)
        # The same question asked of many segments is one question with every segment's answer.
        chosen = sorted(by_question.values(), key=lambda r: hashlib.sha1(r["id"].encode()).hexdigest())[:per_doc]
        out.questions += chosen
    return out


# --- medicine: MedQuAD, Genetics Home Reference pages ----------------------------------------


def medicine(snap: Snapshot, documents: int = 140) -> Domain:
    files = sorted(snap.listing("3_GHR_QA"), key=lambda f: hashlib.sha1(f.encode()).hexdigest())[:documents]
    out = Domain()
    for f in files:
        root = ET.fromstring(snap.read(f))  # noqa: S314 - a public data set's XML from a pinned snapshot, no entities
        focus = (root.findtext("Focus") or "").strip()
        pairs = [
            (
                (qa.findtext("Question") or "").strip(),
                " ".join((qa.findtext("Answer") or "").split()),
                qa.find("Question").get("qid"),
            )
            for qa in root.iter("QAPair")
        ]
        pairs = [p for p in pairs if p[0] and p[1]]
        if not focus or len(pairs) < 3:
            continue
        name = safe_name(focus) + ".txt"
        # One page in three loses one section (never the first, the overview): its question
        # is then unanswerable from a page that is still about the condition.
        h = int(hashlib.sha1(name.encode()).hexdigest()[:8], 16)
        drop = 1 + h % (len(pairs) - 1) if h % 3 == 0 else -1
        kept = [p for i, p in enumerate(pairs) if i != drop]
        text, starts = _join([focus] + [a for _, a, _ in kept])
        out.docs[name] = text
        for i, (question, answer, qid) in enumerate(pairs):
            rec = {"id": qid, "question": question, "doc": name, "split": split_of(name), "evidence": "passage"}
            if i == drop:
                if _withheld(text, [answer]):
                    out.questions.append({**rec, "answerable": False})
                continue
            start = starts[1 + kept.index((question, answer, qid))]
            out.questions.append({**rec, "answerable": True, "answers": [{"text": answer, "start": start}]})
    return out


# --- manuals: E-Manual QA over the Samsung Smart TV / Smart Remote manual ---------------------

_FIELD = re.compile(r'"(Section Hierarchy|Question)"\s*:\s*"(.*?)"\s*,?\s*$')


def _manual_records(raw: str) -> list[dict[str, str]]:
    """The files are not valid JSON (stray quotes and commas), so fields are read line by line."""
    out: list[dict[str, str]] = []
    cur: dict[str, str] = {}
    for line in raw.splitlines():
        m = _FIELD.search(line.strip())
        if m:
            cur[m.group(1)] = m.group(2)
            if m.group(1) == "Question" and "Section Hierarchy" in cur:
                out.append(cur)
                cur = {}
    return out


def manuals(snap: Snapshot, zip_path: Path) -> Domain:
    import zipfile

    corpus = json.loads(snap.read("data/smart_tv_remote_manual_corpus.json"))
    sections = [(s["title"].strip(), " ".join(" ".join(s["text"]).split())) for s in corpus.values()]
    sections = [(t, re.sub(r"\s*- \d+ -\s*$", "", x)) for t, x in sections if x]
    # Documents: runs of ten sections, as the manual's chapters would be.
    out = Domain()
    where: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
    for k in range(0, len(sections), 10):
        group = sections[k : k + 10]
        name = f"manual_part_{k // 10 + 1:02d}_{safe_name(group[0][0])[:40]}.txt"
        text, starts = _join([f"{t}\n{x}" for t, x in group])
        out.docs[name] = text
        for (t, x), s in zip(group, starts, strict=True):
            where[t.lower()].append((name, s, f"{t}\n{x}"))
    with zipfile.ZipFile(zip_path) as z:
        for member in sorted(z.namelist()):
            if not member.endswith(".json") or "Yes_No" in member or "Compound" in member:
                continue
            for n, r in enumerate(_manual_records(z.read(member).decode("utf-8", "replace"))):
                title = r["Section Hierarchy"].split(">")[-1].strip().lower()
                places = where.get(title)
                if not places or len({p[0] for p in places}) > 1:
                    continue
                doc = places[0][0]
                out.questions.append(
                    {
                        "id": f"{Path(member).stem}-{n}",
                        "question": r["Question"],
                        "doc": doc,
                        "split": split_of(doc),
                        "evidence": "passage",
                        "answerable": True,
                        "answers": [{"text": x, "start": s} for _, s, x in places],
                    }
                )
    return out


# --- conversational: MTRAG-UN (multi-turn RAG conversations, reference passages) --------------


def conversational(snap: Snapshot) -> Domain:
    rows = [
        json.loads(line)
        for line in snap.read("mtragun-human/generation_tasks/reference.jsonl").splitlines()
        if line.strip()
    ]
    passages: dict[str, dict[str, str]] = defaultdict(dict)  # document -> passage id -> text
    for r in rows:
        for c in r["contexts"]:
            doc = _passage_doc(c["document_id"])
            passages[doc][c["document_id"]] = " ".join(c["text"].split())
    out = Domain()
    located: dict[str, tuple[str, int, str]] = {}
    for doc, parts in sorted(passages.items()):
        name = safe_name(doc) + ".txt"
        ids = sorted(parts, key=_passage_start)
        text, starts = _join([parts[i] for i in ids])
        out.docs[name] = text
        for i, s in zip(ids, starts, strict=True):
            located[i] = (name, s, parts[i])
    for r in rows:
        kind = r["answerability"][0]
        if kind not in ("ANSWERABLE", "PARTIAL", "UNANSWERABLE"):
            continue  # underspecified questions call for a clarifying question, which is not measured here
        turns = [t["text"] for t in r["input"] if t["speaker"] == "user"]
        rec = {
            "id": r["task_id"],
            "question": turns[-1],
            "history": turns[:-1],
            "split": split_of(r["conversation_id"]),
            "evidence": "passage",
            "collection": r.get("Collection", ""),
        }
        if kind == "UNANSWERABLE":
            out.questions.append({**rec, "doc": "", "answerable": False})
            continue
        gold = [located[c["document_id"]] for c in r["contexts"] if c["document_id"] in located]
        if not gold:
            continue
        out.questions.append(
            {
                **rec,
                "doc": gold[0][0],
                "answerable": True,
                "answers": [{"text": x, "start": s, "doc": d} for d, s, x in gold],
            }
        )
    return out


def _passage_doc(pid: str) -> str:
    """`162428-0-349` is passage 0-349 of document 162428."""
    m = re.match(r"(.+)-(\d+)-(\d+)$", pid)
    return m.group(1) if m else pid


def _passage_start(pid: str) -> int:
    m = re.match(r".+-(\d+)-\d+$", pid)
    return int(m.group(1)) if m else 0


# --- legal: ObliQA, ADGM rulebooks and guidance with numbered clauses -------------------------


def _obliqa_questions(
    snap: Snapshot,
    docs: dict[str, str],
    locate: Callable[[int, str], tuple[str, int, int] | None],
    per_doc: int,
) -> list[dict[str, Any]]:
    """The data set's own held-out (dev and test) questions that one passage answers, where
    `locate(document id, passage)` finds that passage as (file, start, end); `per_doc` a file."""
    asked: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for split_file in ("ObliQA_dev.json", "ObliQA_test.json"):
        for q in json.loads(snap.read(split_file)):
            if len(q["Passages"]) != 1:
                continue  # one passage answers it: a place to cite, not a synthesis
            gold = q["Passages"][0]
            found = locate(gold["DocumentID"], gold["Passage"].strip())
            if found is None:
                continue
            name, start, end = found
            asked[name].append(
                {
                    "id": q["QuestionID"],
                    "question": q["Question"],
                    "doc": name,
                    "split": split_of(name),
                    "evidence": "passage",
                    "answerable": True,
                    "answers": [{"text": docs[name][start:end], "start": start}],
                }
            )

    def by_id(record: dict[str, Any]) -> str:
        return hashlib.sha1(record["id"].encode()).hexdigest()

    return [r for name in sorted(asked) for r in sorted(asked[name], key=by_id)[:per_doc]]


LEGAL_DOCUMENTS = (2, 4, 5, 9, 21, 28, 30, 31, 33, 34, 40)  # 5k-20k words each (10-40 pages), 20+ questions each


def _clauses(passages: list[dict[str, Any]]) -> tuple[str, list[int | None]]:
    """A rulebook as plain text, each passage after its clause number ("1.1.1.(1) The Rules ...",
    headings as "1.1 Application"), a blank line between; where each passage's own text starts."""
    parts: list[str] = []
    starts: list[int | None] = []
    pos = 0
    for p in passages:
        number, body = str(p["PassageID"]).strip(), p["Passage"].strip()
        if not body:
            starts.append(None)  # a bare number whose clauses follow under their own numbers
            continue
        line = f"{number} {body}" if number else body
        starts.append(pos + len(line) - len(body))
        parts.append(line)
        pos += len(line) + 2
    return "\n\n".join(parts), starts


def legal(snap: Snapshot, per_doc: int = 20) -> Domain:
    out = Domain()
    where: dict[tuple[int, str], tuple[str, int, int]] = {}  # (document id, passage) -> (file, start, end)
    for number in LEGAL_DOCUMENTS:
        passages = json.loads(snap.read(f"StructuredRegulatoryDocuments/{number}.json"))
        name = f"adgm_{number:02d}.txt"
        text, starts = _clauses(passages)
        out.docs[name] = text
        for p, start in zip(passages, starts, strict=True):
            if start is not None:
                body = p["Passage"].strip()
                where.setdefault((number, body), (name, start, start + len(body)))
    out.questions = _obliqa_questions(snap, out.docs, lambda number, passage: where.get((number, passage)), per_doc)
    return out


# --- pdfs: ObliQA's shorter guidance notes, typeset as PDFs with page furniture ---------------

PDF_DOCUMENTS = (15, 16, 18, 23, 24, 25, 26, 29, 36, 37, 39)  # 1k-4k words each; none of LEGAL_DOCUMENTS


def _typeset(path: Path, title: str, passages: list[dict[str, Any]], columns: bool) -> None:
    """A PDF of `passages` (clause number, then text; short ones as bold headings) with a running
    header, a page-number footer (`- N -`), and, with `columns`, two columns after page one.
    Needs reportlab (pip install 'reportlab>=4,<6')."""
    from xml.sax.saxutils import escape

    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import BaseDocTemplate, Frame, NextPageTemplate, PageTemplate, Paragraph

    width, height = A4
    margin, gap = 56, 18
    styles = getSampleStyleSheet()

    def furniture(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.drawString(margin, height - 36, f"{title} | Financial Services Regulatory Authority")
        canvas.drawCentredString(width / 2, 30, f"- {doc.page} -")
        canvas.restoreState()

    whole = Frame(margin, margin, width - 2 * margin, height - 2 * margin)
    half = (width - 2 * margin - gap) / 2
    left = Frame(margin, margin, half, height - 2 * margin)
    right = Frame(margin + half + gap, margin, half, height - 2 * margin)
    doc = BaseDocTemplate(str(path), pagesize=A4, title=title)
    doc.addPageTemplates(
        [PageTemplate("one", [whole], onPage=furniture), PageTemplate("two", [left, right], onPage=furniture)]
    )
    story: list[Any] = [Paragraph(escape(title), styles["Title"])]
    if columns:
        story.append(NextPageTemplate("two"))
    for p in passages:
        number, body = str(p["PassageID"]).strip(), p["Passage"].strip()
        if not body:
            continue
        text = escape(f"{number} {body}" if number else body).replace("\n", "<br/>").replace("\t", " ")
        heading = len(body.split()) <= 8 and not body.endswith((".", ":", ";"))
        story.append(Paragraph(f"<b>{text}</b>" if heading else text, styles["Heading3" if heading else "BodyText"]))
    doc.build(story)


def _anchored(text: str, passage: str) -> tuple[int, int] | None:
    """Where `passage` stands in a PDF's extracted text, found by its first and last words (line
    breaks and page furniture may fall between them: eight words at each end, else four); None
    if they are not found in order, close together."""
    tokens = passage.split()
    for words in (8, 4):
        n = max(1, min(words, len(tokens) // 2))
        head = re.compile(r"\s+".join(re.escape(t) for t in tokens[:n]))
        tail = re.compile(r"\s+".join(re.escape(t) for t in tokens[-n:]))
        for first in head.finditer(text):
            last = tail.search(text, first.start())
            if last and last.end() - first.start() <= 1.5 * len(passage) + 400:
                return first.start(), last.end()
    return None


def pdfs(snap: Snapshot, per_doc: int = 20) -> Domain:
    """The documents typeset (in a scratch folder) and read back with our own PDF loader."""
    import tempfile

    from index.documents import load

    out = Domain()
    with tempfile.TemporaryDirectory(prefix="pdfs-") as scratch:
        folder = Path(scratch)
        for i, number in enumerate(PDF_DOCUMENTS):
            passages = json.loads(snap.read(f"StructuredRegulatoryDocuments/{number}.json"))
            upper = (str(p["PassageID"]).strip() for p in passages if str(p["PassageID"]).strip().isupper())
            name = f"adgm_guidance_{number:02d}.pdf"
            _typeset(folder / name, next(upper, "") or f"ADGM guidance {number}", passages, columns=i % 2 == 1)
            out.pdfs[name] = (folder / name).read_bytes()
            out.docs[name] = load(folder, name).text  # the canonical text the offsets count in

    def locate(number: int, passage: str) -> tuple[str, int, int] | None:
        name = f"adgm_guidance_{number:02d}.pdf"
        found = _anchored(out.docs[name], passage) if number in PDF_DOCUMENTS else None
        return None if found is None else (name, *found)

    out.questions = _obliqa_questions(snap, out.docs, locate, per_doc)
    return out


SOURCES: dict[str, tuple[Source, Callable[..., Domain]]] = {
    "encyclopedia": (
        Source(
            "google-deepmind/xquad",
            "",
            "CC BY-SA 4.0",
            "XQuAD, English file: 240 paragraphs of 48 Wikipedia articles from the SQuAD v1.1 dev set, 1,190 questions.",
        ),
        encyclopedia,
    ),
    "policy": (
        Source(
            "wasiahmad/PolicyQA",
            "",
            "code MIT; the policy texts come from the OPP-115 corpus (Wilson et al., 2016), CC BY-NC",
            "PolicyQA dev split: questions over segments of 20 website privacy policies, SQuAD-style answer spans.",
        ),
        policy,
    ),
    "medicine": (
        Source(
            "abachaa/MedQuAD",
            "",
            "CC BY 4.0",
            "MedQuAD, Genetics Home Reference pages: template questions (what is it, its causes, inheritance, treatments ...) answered by a section of the page.",
        ),
        medicine,
    ),
    "manuals": (
        Source(
            "abhi1nandy2/EMNLP-2021-Findings",
            "",
            "repository Apache-2.0; the manual's text is Samsung's, as redistributed in that repository",
            "E-Manual QA: questions about the Samsung Smart TV / Smart Remote e-manual, answered by a section of it.",
        ),
        manuals,
    ),
    "legal": (
        Source(
            "RegNLP/ObliQADataset",
            "",
            "none stated: the repository has no licence file and its README names none (the rulebooks are ADGM's published regulations); kept for evaluation only",
            "ObliQA: 11 ADGM rulebooks and guidance notes (5k-20k words each) rebuilt as plain text with their clause numbers and headings, and the data set's dev and test questions answered by one passage, 20 a document.",
        ),
        legal,
    ),
    "pdfs": (
        Source(
            "RegNLP/ObliQADataset",
            "",
            "none stated: the repository has no licence file and its README names none (the guidance notes are ADGM's published documents); kept for evaluation only",
            "ObliQA's eleven shorter ADGM guidance notes (1k-4k words), typeset here as PDFs with reportlab: a running header, a `- N -` page number, headings in bold, and every other document in two columns after its first page. Offsets count in the text our PDF loader extracts; each gold passage is found there by its first and last words, so a passage over a page break carries that page's furniture. The data set's dev and test questions answered by one passage, 20 a document.",
        ),
        pdfs,
    ),
    "conversational": (
        Source(
            "IBM/mt-rag-benchmark",
            "",
            "Apache-2.0 (passages from ClapNQ/Wikipedia CC BY-SA, FiQA, US government sites and IBM Cloud docs)",
            "MTRAG-UN reference tasks: multi-turn conversations; the last user turn is asked after the earlier ones; gold is the reference passages; UNANSWERABLE turns are kept, UNDERSPECIFIED ones left out.",
        ),
        conversational,
    ),
}


def write(out: Path, name: str, source: Source, domain: Domain) -> None:
    folder = out / name
    corpus = folder / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for f in corpus.iterdir():
        f.unlink()
    for doc, text in domain.docs.items():
        if doc in domain.pdfs:
            (corpus / doc).write_bytes(domain.pdfs[doc])
        else:
            (corpus / doc).write_text(text, encoding="utf-8")
    with open(folder / "questions.jsonl", "w", encoding="utf-8") as fh:
        for q in domain.questions:
            fh.write(json.dumps(q, ensure_ascii=False) + "\n")
    counts = defaultdict(int)
    for q in domain.questions:
        counts[(q["split"], q["answerable"])] += 1
    lines = [
        f"# {name}",
        "",
        source.about,
        "",
        f"- Source: `{source.repo}` at commit `{source.commit}` (the files eval/build_domains.py reads).",
        f"- Licence: {source.licence}. Keep this notice with any copy.",
        "- Built by `eval/build_domains.py` (reshaped only: documents joined from the data set's passages, offsets moved to file offsets).",
        f"- {len(domain.docs)} documents, {len(domain.questions)} questions: "
        + ", ".join(
            f"{s} {counts[(s, True)]} answerable / {counts[(s, False)]} unanswerable" for s in ("fit", "check")
        ),
        "",
    ]
    (folder / "README.md").write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mirror", type=Path, required=True, help="folder of fetched snapshots (owner+name/repo)")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "domains")
    ap.add_argument(
        "--manual-zip",
        type=Path,
        help="data/smart_remote_QA.zip extracted from the E-Manual snapshot (read from it if absent)",
    )
    ap.add_argument("domains", nargs="*", default=list(SOURCES))
    args = ap.parse_args()
    for name in args.domains:
        source, build = SOURCES[name]
        snap = Snapshot(args.mirror, source.repo, source.commit or None)
        source.commit = snap.commit
        if name == "manuals":
            zip_path = args.manual_zip or args.out / ".manual_qa.zip"
            if not zip_path.exists():
                zip_path.parent.mkdir(parents=True, exist_ok=True)
                zip_path.write_bytes(snap.read("data/smart_remote_QA.zip"))
            domain = build(snap, zip_path)
        else:
            domain = build(snap)
        write(args.out, name, source, domain)
        n = len(domain.questions)
        print(
            f"{name}: {len(domain.docs)} documents, {n} questions ({sum(not q['answerable'] for q in domain.questions)} unanswerable)"
        )


if __name__ == "__main__":
    main()
