"""Pure helpers: name normalisation for the exact (case- and accent-insensitive) match, and
validation of the numéro allocataire."""
from __future__ import annotations

import re
import unicodedata

NUMERO_RE = re.compile(r"^[0-9]{7}$")
_SEPARATORS = re.compile(r"[\s\-'’‐‑]+")


def normalize_name(value: str) -> str:
    """'Lefèvre-Dupont ' -> 'LEFEVRE DUPONT': no accents, upper case, separators collapsed.
    Still an exact match: 'Lefevre' does not match 'Lefèvre-Dupont'."""
    decomposed = unicodedata.normalize("NFKD", value or "")
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    stripped = stripped.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
    return _SEPARATORS.sub(" ", stripped).strip().upper()


def is_valid_numero(value: str) -> bool:
    return bool(NUMERO_RE.match(value or ""))
