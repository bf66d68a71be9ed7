"""The EDI worker's memory: modules of EDI that make PDFs load fpdf2 (and the fontTools it
imports, 17 MB of every process) only when a PDF is made, never by being imported."""
from __future__ import annotations

import subprocess
import sys

EDI_MODULES = ("edi.documents", "edi.declarations.receipt", "edi.intake.process", "edi.views", "edi.tasks")


def test_importing_edi_does_not_load_fpdf():
    code = ("import sys\n"
            + "".join(f"import {m}\n" for m in EDI_MODULES)
            + "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('fpdf', 'fontTools'))\n"
            + "print(','.join(loaded))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", out.stdout[:300]

