"""Small modules, one reason each: a module over ~400 lines says why at its top (issue #17)."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("portal", "afas", "cdap", "edi")
LIMIT = 420  # "about 400"


def test_long_modules_state_why():
    unexplained = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            if text.count("\n") <= LIMIT:
                continue
            docstring = ast.get_docstring(ast.parse(text)) or ""
            if "on purpose" not in docstring:
                unexplained.append(f"{path.relative_to(ROOT)} ({text.count(chr(10))} lignes)")
    assert unexplained == []
