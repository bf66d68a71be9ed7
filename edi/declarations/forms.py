"""The web forms of the three acts: which fields each has, and how the typed values become the
record dict the rules (edi.declaration_rules) and the CDAP effects take. Pure: strings in,
(record, {field: French message}) out. Amounts are typed in euros (« 650 », « 1 234,56 »)
and kept in cents; dates come from `<input type="date">` (YYYY-MM-DD)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

MAX_TEXT = 200

# field -> (label, kind, required). Kinds: text, numero, code, euros, date, int, choice.
COMMON = {
    "nom": ("Nom du locataire", "text", True),
    "numero_allocataire": ("Numéro allocataire", "numero", False),
    "code_locataire": ("Code locataire", "code", False),
}
FIELDS: dict[str, dict[str, tuple[str, str, bool]]] = {
    "IMPAYE": {
        **COMMON,
        "adresse": ("Adresse du logement", "text", True),
        "loyer": ("Loyer mensuel hors charges (€)", "euros", True),
        "charges": ("Charges mensuelles (€)", "euros", True),
        "dette": ("Montant de la dette (€)", "euros", True),
        "periode_debut": ("Premier mois impayé", "date", True),
        "periode_fin": ("Dernier mois impayé", "date", True),
        "date_constitution": ("Date de constitution de l'impayé", "date", True),
        "nb_relances": ("Nombre de relances envoyées", "int", True),
        "derniere_relance": ("Date de la dernière relance", "date", False),
        "plan_apurement": ("Plan d'apurement proposé au locataire", "choice", True),
    },
    "MOUVEMENT": {
        **COMMON,
        "type": ("Mouvement", "choice", True),
        "date_mouvement": ("Date du mouvement", "date", True),
        "loyer": ("Loyer mensuel hors charges à l'entrée (€)", "euros", False),
        "charges": ("Charges mensuelles à l'entrée (€)", "euros", False),
    },
    "LOYER": {
        **COMMON,
        "loyer": ("Loyer mensuel hors charges (€)", "euros", True),
        "charges": ("Charges mensuelles (€)", "euros", True),
        "date_effet": ("Date d'effet", "date", True),
        "nb_colocataires": ("Nombre de colocataires (facultatif)", "int", False),
    },
}
CHOICES = {
    "plan_apurement": {"oui": "Oui", "non": "Non"},
    "type": {"ENTREE": "Entrée dans le logement", "SORTIE": "Sortie du logement"},
}

# The record key an anomaly names (edi.declaration_rules) -> the form field that shows it.
FIELD_OF_KEY = {
    "numero_allocataire": "numero_allocataire", "code_locataire": "code_locataire",
    "loyer_cents": "loyer", "charges_cents": "charges", "loyer_mensuel_cents": "loyer",
    "montant_dette_cents": "dette", "date_constitution": "date_constitution",
    "periode_debut": "periode_debut", "periode_fin": "periode_fin", "date_effet": "date_effet",
    "nb_colocataires": "nb_colocataires", "date_mouvement": "date_mouvement", "type": "type",
}

_EUROS = re.compile(r"^(\d{1,7})(?:[.,](\d{1,2}))?$")
_NUMERO = re.compile(r"^\d{7}$")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,29}$")


@dataclass
class Parsed:
    record: dict
    errors: dict[str, str]


def clean_input(acte: str, form) -> dict[str, str]:
    """The act's fields from a submitted form, as typed (stripped, bounded): what a draft keeps."""
    return {name: str(form.get(name) or "").strip()[:MAX_TEXT] for name in FIELDS[acte]}


def parse_euros(text: str) -> int | None:
    """« 1 234,56 € » -> 123456 cents; None when it is not an amount."""
    compact = re.sub(r"[\s\u00a0\u202f€]", "", text or "")
    m = _EUROS.match(compact)
    if not m:
        return None
    return int(m.group(1)) * 100 + int((m.group(2) or "0").ljust(2, "0"))


def parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text and len(text) == 10 else None
    except ValueError:
        return None


def parse(acte: str, saisie: dict[str, str]) -> Parsed:
    """The record (keys of the EDI flow's records) and the field errors of the typing itself
    (missing, not a number, not a date). The business rules come after, on the record."""
    errors: dict[str, str] = {}
    values: dict[str, object] = {}
    for name, (label, kind, required) in FIELDS[acte].items():
        text = (saisie.get(name) or "").strip()
        if not text:
            if required:
                errors[name] = f"Renseignez le champ « {label} »."
            values[name] = None
            continue
        if kind == "euros":
            value = parse_euros(text)
            if value is None:
                errors[name] = "Saisissez un montant en euros, par exemple 650 ou 650,50."
        elif kind == "date":
            value = parse_date(text)
            if value is None:
                errors[name] = "Saisissez une date valide (jj/mm/aaaa)."
        elif kind == "int":
            value = int(text) if text.isdigit() and len(text) <= 3 else None
            if value is None:
                errors[name] = "Saisissez un nombre entier (0 à 999)."
        elif kind == "numero":
            value = text
            if not _NUMERO.match(text):
                errors[name] = "Le numéro allocataire compte 7 chiffres."
        elif kind == "code":
            value = text
            if not _CODE.match(text):
                errors[name] = "Code locataire : lettres, chiffres, « . », « / », « - », 30 caractères au plus."
        elif kind == "choice":
            value = text
            if text not in CHOICES[name]:
                errors[name] = f"Choisissez une valeur pour « {label} »."
        else:
            value = text
        values[name] = value
    if not values.get("numero_allocataire") and not values.get("code_locataire") \
            and "numero_allocataire" not in errors and "code_locataire" not in errors:
        errors["numero_allocataire"] = "Renseignez le numéro allocataire ou le code locataire."
    return Parsed(_record(acte, values), errors)


def _record(acte: str, v: dict) -> dict:
    record = {"code_locataire": v.get("code_locataire"), "numero_allocataire": v.get("numero_allocataire")}
    if acte == "IMPAYE":
        mensuel = None if v["loyer"] is None or v["charges"] is None else v["loyer"] + v["charges"]
        record.update(montant_dette_cents=v["dette"], loyer_mensuel_cents=mensuel,
                      date_constitution=v["date_constitution"], periode_debut=v["periode_debut"],
                      periode_fin=v["periode_fin"], plan_apurement=v["plan_apurement"] == "oui")
    elif acte == "MOUVEMENT":
        record.update(type=v["type"], date_mouvement=v["date_mouvement"])
        if v["type"] == "ENTREE" and v["loyer"] is not None:
            record.update(loyer_cents=v["loyer"], charges_cents=v["charges"] or 0)
    else:
        record.update(loyer_cents=v["loyer"], charges_cents=v["charges"], date_effet=v["date_effet"],
                      nb_colocataires=v["nb_colocataires"] or None)
    return record


FIELDS_KIND = {name: kind for fields in FIELDS.values() for name, (_l, kind, _r) in fields.items()}
