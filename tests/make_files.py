"""Build small real documents of each format for tests: PDF (written by hand), DOCX, HTML."""

from __future__ import annotations

from pathlib import Path


def pdf_bytes(pages: list[str], title: str = "Test PDF") -> bytes:
    """A minimal valid PDF with one text line per page (Helvetica), built by hand."""
    return typeset_pdf_bytes([[(text, "Helvetica", 12)] for text in pages], title)


def encrypted_pdf_bytes(pages: list[str]) -> bytes:
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes(pages))))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def write_docx(path: Path, title: str, paragraphs: list[str]) -> None:
    from docx import Document

    doc = Document()
    doc.core_properties.title = title
    doc.add_heading(title, level=1)
    for p in paragraphs:
        doc.add_paragraph(p)
    doc.save(str(path))


HTML_PAGE = """<!DOCTYPE html><html><head><title>Parking rules</title>
<style>body { color: red; } .secret { display: none }</style>
<script>var tracking = "SCRIPT TEXT MUST NOT BE INDEXED";</script></head>
<body><nav><a href="/">Home</a> | <a href="/menu">NAVIGATION TEXT MUST NOT BE INDEXED</a></nav>
<main><h1>Parking rules</h1>
<p>Visitors may park in lot B for up to four hours.</p>
<p>Staff parking permits are renewed every January &amp; July.</p></main>
<footer>FOOTER TEXT MUST NOT BE INDEXED</footer></body></html>"""


Line = tuple[str, str, int]  # (text, font: "Helvetica" or "Helvetica-Bold", size)


def typeset_pdf_bytes(pages: list[list[Line]], title: str = "Test PDF") -> bytes:
    """A valid PDF whose pages hold the given lines top to bottom, each in its own font and size
    (headings bold or larger, furniture small), built by hand like `pdf_bytes`."""
    fonts = {"Helvetica": "/F1", "Helvetica-Bold": "/F2"}
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids ["
        + " ".join(f"{5 + 2 * i} 0 R" for i in range(len(pages)))
        + f"] /Count {len(pages)} >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold >>",
    ]
    for i, lines in enumerate(pages):
        ops, y = [], 760
        for text, font, size in lines:
            escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"BT {fonts[font]} {size} Tf 72 {y} Td ({escaped}) Tj ET")
            y -= size + 8
        stream = "\n".join(ops)
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> "
            f"/Contents {6 + 2 * i} 0 R >>"
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    objects.append(f"<< /Title ({title}) >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {len(objects)} 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
