"""Reading back the PDFs the portal draws (fpdf2 core fonts): what a test compares with what
was typed or stored."""
from __future__ import annotations

import re
import zlib


def pdf_streams(pdf: bytes) -> bytes:
    """The page content streams, inflated where they are compressed."""
    assert pdf.startswith(b"%PDF-")
    chunks = []
    # Up to « endstream » with its end-of-line kept: compressed bytes may themselves end with
    # « \r » or « \n », and cutting them broke the inflate on some days' content. The inflater
    # stops at the end of the zlib data and leaves the end-of-line aside (unused_data).
    for raw in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        try:
            chunks.append(zlib.decompressobj().decompress(raw))
        except zlib.error:
            chunks.append(raw)
    return b"".join(chunks)


def pdf_text(pdf: bytes) -> str:
    """The streams as latin-1 text, parentheses unescaped: enough to find a phrase."""
    return pdf_streams(pdf).decode("latin-1").replace("\\(", "(").replace("\\)", ")")


def pdf_shown_strings(pdf: bytes) -> str:
    """Only the strings drawn with Tj, joined by spaces (cp1252, escapes resolved): to compare a
    long typed text with what the PDF shows, line breaks aside."""
    shown = re.findall(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", pdf_streams(pdf))
    return " ".join(re.sub(rb"\\(.)", rb"\1", s).decode("cp1252") for s in shown)
