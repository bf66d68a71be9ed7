"""The page layout of edi.documents' PDFs (portal.pdf's Document). Imported only when a PDF is
made: fpdf2 and the fontTools it loads weigh 17 MB in every process that imports them, the EDI
worker included, which never makes one."""
from __future__ import annotations

from portal.pdf import Document, latin

from .documents import PDF_MAX_ROWS

__all__ = ["Pdf", "latin"]


class Pdf(Document):
    def __init__(self, title: str):
        super().__init__(title, "Caf - Extranet Partenaires, service EDI. Lecture du document XML "
                                "signé par la Caf, qui seul fait foi (avec sa signature .p7s).")

    def table(self, header: list[str], widths: list[int], rows, total: int) -> None:
        """A table whose cells wrap (nothing cut), its header repeated on each page."""
        self.set_font("Helvetica", "", 8)
        shown = 0
        with super().table(col_widths=widths, line_height=4.5, first_row_as_headings=True,
                           repeat_headings=1) as table:
            table.row([latin(h) for h in header])
            for row in rows:
                if shown == PDF_MAX_ROWS:
                    break
                table.row([latin(v) for v in row])
                shown += 1
        if total > shown:
            self.set_font("Helvetica", "I", 9)
            self.multi_cell(0, 6, latin(f"{shown} lignes sur {total} : la liste complète est dans le CSV."),
                            new_x="LMARGIN", new_y="NEXT")
