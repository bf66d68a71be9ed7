"""The page layout of edi.documents' PDFs (fpdf2, core fonts). Imported only when a PDF is
made: fpdf2 and the fontTools it loads weigh 17 MB in every process that imports them, the EDI
worker included, which never makes one."""
from __future__ import annotations

from fpdf import FPDF

from .documents import PDF_MAX_ROWS, _latin


class Pdf(FPDF):
    def __init__(self, title: str):
        super().__init__()
        self.set_title(_latin(title))
        self.set_auto_page_break(True, margin=15)
        self.add_page()
        self.set_font("Helvetica", "B", 15)
        self.multi_cell(0, 8, _latin(title), new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", "", 9)
        self.multi_cell(0, 5, _latin("Caf - Extranet Partenaires, service EDI. Lecture du document XML "
                                     "signé par la Caf, qui seul fait foi (avec sa signature .p7s)."),
                        new_x="LMARGIN", new_y="NEXT")
        self.ln(3)

    def pairs(self, rows) -> None:
        for label, value in rows:
            self.set_font("Helvetica", "B", 10)
            self.cell(55, 6, _latin(label))
            self.set_font("Helvetica", "", 10)
            self.multi_cell(0, 6, _latin(value or "-"), new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def heading(self, text: str) -> None:
        self.ln(2)
        self.set_font("Helvetica", "B", 12)
        self.multi_cell(0, 7, _latin(text), new_x="LMARGIN", new_y="NEXT")

    def table(self, header: list[str], widths: list[int], rows, total: int) -> None:
        """A table whose cells wrap (nothing cut), its header repeated on each page."""
        self.set_font("Helvetica", "", 8)
        shown = 0
        with super().table(col_widths=widths, line_height=4.5, first_row_as_headings=True,
                           repeat_headings=1) as table:
            table.row([_latin(h) for h in header])
            for row in rows:
                if shown == PDF_MAX_ROWS:
                    break
                table.row([_latin(v) for v in row])
                shown += 1
        if total > shown:
            self.set_font("Helvetica", "I", 9)
            self.multi_cell(0, 6, _latin(f"{shown} lignes sur {total} : la liste complète est dans le CSV."),
                            new_x="LMARGIN", new_y="NEXT")

    def done(self) -> bytes:
        return bytes(self.output())
