"""IBAN and BIC checks (ISO 13616, ISO 9362) and masking, plain Python (#21).

No dependency: the mod-97 check is a few lines and the lengths of the SEPA countries' IBANs are
a table (docs/paiement.md). `iban_error` returns the French message of the first problem, or
None; the form and the service both ask it.
"""
from __future__ import annotations

import re

# Length of the IBAN of each SEPA country (ISO 13616 registry).
LONGUEURS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20,
    "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26,
    "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28,
    "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "VA": 22,
}
MAX_IBAN = 34
_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]+")
_BIC = re.compile(r"[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")


def normalise(raw: str | None) -> str:
    """As typed (« fr76 3000 6000 … ») → electronic form (« FR7630006000… »)."""
    return re.sub(r"[\s\-.]", "", raw or "").upper()


def mod97_ok(iban: str) -> bool:
    """ISO 13616: the 4 first characters moved to the end, letters as 10..35, the number mod 97 is 1."""
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def iban_error(raw: str | None) -> str | None:
    iban = normalise(raw)
    if not iban:
        return "IBAN : à renseigner."
    if len(iban) > MAX_IBAN:
        return f"IBAN : {MAX_IBAN} caractères au plus ({len(iban)} saisis)."
    if not _SHAPE.fullmatch(iban):
        return "IBAN : deux lettres (le pays), deux chiffres (la clé) puis des lettres et des chiffres."
    expected = LONGUEURS.get(iban[:2])
    if expected is None:
        return f"IBAN : le pays « {iban[:2]} » n'est pas dans la zone SEPA."
    if len(iban) != expected:
        return f"IBAN : un IBAN {iban[:2]} compte {expected} caractères ({len(iban)} saisis)."
    if not mod97_ok(iban):
        return "IBAN : la clé de contrôle ne correspond pas ; vérifiez chaque caractère."
    return None


def bic_error(raw: str | None) -> str | None:
    """Optional: None when empty or well formed (8 or 11 characters)."""
    bic = normalise(raw)
    if bic and not _BIC.fullmatch(bic):
        return "BIC : 8 ou 11 caractères (banque, pays, lieu, agence), par exemple BNPAFRPPXXX."
    return None


def mask(iban: str | None) -> str:
    """What people see: « FR76 •••• 1234 » (country and key, the last four characters)."""
    if not iban:
        return ""
    return f"{iban[:4]} •••• {iban[-4:]}"


def groups(iban: str | None) -> str:
    """The full IBAN in groups of four (the Caf agent's edit form only)."""
    return " ".join(iban[i:i + 4] for i in range(0, len(iban or ""), 4))
