"""PDF documents the portal hands to people (receipts, readings of signed files, GDPR answers):
fpdf2 with its core fonts, so no font file to ship. Core fonts are Latin-1: `latin` maps the
typographic characters French text uses (€, « », narrow spaces, dashes, œ…) to what Latin-1
holds, so nothing prints as a question mark. `Document` gives every PDF the same title block,
label/value pairs and headings."""
from __future__ import annotations

from fpdf import FPDF

_LATIN = {"€": "EUR", "\u202f": " ", "\u00a0": " ", "’": "'", "—": "-", "–": "-", "«": '"', "»": '"',
          "…": "...", "≤": "<=", "≥": ">=", "−": "-", "×": "x", "÷": "/", "±": "+/-", "→": "->",
          "œ": "oe", "Œ": "OE"}


def latin(text) -> str:
    """The text in Latin-1 for fpdf2's core fonts; an unmapped character becomes « ? »."""
    text = "" if text is None else str(text)
    for a, b in _LATIN.items():
        text = text.replace(a, b)
    return text.encode("latin-1", "replace").decode("latin-1")


class Document(FPDF):
    """A portrait (or landscape) page with a title and a one-paragraph origin line."""

    def __init__(self, title: str, origin: str = "", *, orientation: str = "P", label_width: int = 55,
                 title_size: int = 15):
        super().__init__(orientation=orientation)
        self.label_width = label_width
        self.set_title(latin(title))
        self.set_auto_page_break(True, margin=15)
        self.add_page()
        self.set_font("Helvetica", "B", title_size)
        self.multi_cell(0, 8, latin(title), new_x="LMARGIN", new_y="NEXT")
        if origin:
            self.paragraph(origin, size=9)
        self.ln(3)

    def paragraph(self, text: str, *, size: int = 10, style: str = "", height: float = 5) -> None:
        self.set_font("Helvetica", style, size)
        self.multi_cell(0, height, latin(text), new_x="LMARGIN", new_y="NEXT")

    def pairs(self, rows) -> None:
        """Label in bold, value beside it (wrapping); an empty value shows « - »."""
        for label, value in rows:
            self.set_font("Helvetica", "B", 10)
            self.cell(self.label_width, 6, latin(label))
            self.set_font("Helvetica", "", 10)
            self.multi_cell(0, 6, latin(value if value not in (None, "") else "-"), new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def heading(self, text: str) -> None:
        self.ln(2)
        self.set_font("Helvetica", "B", 12)
        self.multi_cell(0, 7, latin(text), new_x="LMARGIN", new_y="NEXT")

    def done(self) -> bytes:
        return bytes(self.output())
