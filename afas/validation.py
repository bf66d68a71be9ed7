"""Field parsing for a declaration (web form and JSON API alike). Pure, no Flask.

`parse_declaration(type, raw)` takes what the user typed (strings from a form, or JSON numbers,
strings and booleans from the API) and returns the parsed values plus one French message per
faulty field: non-numeric, negative, absurdly large, not a whole number, inconsistent with
another field. Empty fields are `None` (allowed in a draft; a bloquant at transmission).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from .schema import Field, fields_for
from portal.formatting import nombre

MAX_RAW_LENGTH = 40
_NUMBER_RE = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")
TRUE_WORDS = {"1", "true", "on", "oui", "yes", "o"}
FALSE_WORDS = {"0", "false", "off", "non", "no", "n", ""}


@dataclass
class FieldError:
    key: str
    kind: str       # invalide, negatif, trop_grand, incoherent
    message: str


@dataclass
class ParseResult:
    values: dict[str, object]
    errors: dict[str, FieldError] = field(default_factory=dict)

    @property
    def messages(self) -> dict[str, str]:
        return {k: e.message for k, e in self.errors.items()}

    def missing(self, fields: tuple[Field, ...]) -> list[Field]:
        return [f for f in fields if f.required and f.kind != "booleen"
                and self.values.get(f.key) is None and f.key not in self.errors]


def format_number(value: float) -> str:
    """French display of a number: 1 234,5 (no trailing zeros)."""
    return nombre(value, 2)


def normalise_text(raw: str) -> str:
    """'1 234,56 €' -> '1234,56'; spaces of any width and a trailing unit are tolerated."""
    text = raw.strip()
    for unit in ("€", "%", "h"):
        if text.endswith(unit):
            text = text[: -len(unit)].strip()
    return re.sub(r"[\s\u00a0\u202f']", "", text)


def parse_boolean(raw) -> bool | None:
    """The one reading of a yes/no answer (API validation, draft save, form display): `True`,
    `False` (nothing given: an unticked checkbox), or `None` when `raw` is not a recognised
    yes/no value — which is an error, never a silent « non »."""
    if isinstance(raw, bool):
        return raw
    if raw is None:
        return False
    word = str(raw).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def parse_value(f: Field, raw) -> tuple[object, FieldError | None]:
    if f.kind == "booleen":
        answer = parse_boolean(raw)
        if answer is None:
            return None, FieldError(f.key, "invalide", "Répondez par oui ou non.")
        return answer, None
    if raw is None:
        return None, None
    if isinstance(raw, bool):
        return None, FieldError(f.key, "invalide", "Saisissez un nombre.")
    if isinstance(raw, (int, float)):
        number = float(raw)
    else:
        text = str(raw)
        if len(text) > MAX_RAW_LENGTH:
            return None, FieldError(f.key, "trop_grand", "Saisie trop longue : saisissez un nombre.")
        text = normalise_text(text)
        if text == "":
            return None, None
        if not _NUMBER_RE.match(text):
            return None, FieldError(f.key, "invalide",
                                    "Saisissez un nombre (chiffres, virgule pour les décimales).")
        number = float(text.replace(",", "."))
    if math.isnan(number) or math.isinf(number):
        return None, FieldError(f.key, "invalide", "Saisissez un nombre.")
    if number < 0:
        return None, FieldError(f.key, "negatif", "La valeur ne peut pas être négative.")
    if f.maximum and number > f.maximum:
        return None, FieldError(f.key, "trop_grand",
                                f"Valeur trop grande : {format_number(number)} dépasse le maximum "
                                f"plausible de {format_number(f.maximum)}{(' ' + f.unit) if f.unit else ''}.")
    if f.kind == "entier":
        if number != int(number):
            return None, FieldError(f.key, "invalide", "Saisissez un nombre entier.")
        return int(number), None
    if f.kind in ("montant",):
        return round(number, 2), None
    return round(number, 4), None


def _consistency(equipement_type: str, values: dict, errors: dict) -> None:
    def both(a, b):
        return values.get(a) is not None and values.get(b) is not None and a not in errors and b not in errors

    if equipement_type == "EAJE" and both("enfants_aeeh", "enfants_inscrits"):
        if values["enfants_aeeh"] > values["enfants_inscrits"]:
            errors["enfants_aeeh"] = FieldError(
                "enfants_aeeh", "incoherent",
                f"Incohérent : {values['enfants_aeeh']} enfants AEEH pour "
                f"{values['enfants_inscrits']} enfants inscrits.")
    if both("charges_socio_educatives", "total_charges") \
            and values["charges_socio_educatives"] > values["total_charges"]:
        errors["charges_socio_educatives"] = FieldError(
            "charges_socio_educatives", "incoherent",
            f"Incohérent : {format_number(values['charges_socio_educatives'])} € de charges socio-éducatives "
            f"pour {format_number(values['total_charges'])} € de charges au total.")
    if equipement_type in ("EAJE", "ALSH") and values.get("jours_ouverture") is not None \
            and values.get("amplitude_horaire") is not None:
        if values["jours_ouverture"] > 0 and values["amplitude_horaire"] == 0:
            errors["amplitude_horaire"] = FieldError(
                "amplitude_horaire", "incoherent",
                "Incohérent : une amplitude de 0 h pour des jours d'ouverture déclarés.")


def parse_declaration(equipement_type: str, raw: dict | None) -> ParseResult:
    raw = raw or {}
    values: dict[str, object] = {}
    errors: dict[str, FieldError] = {}
    for f in fields_for(equipement_type):
        value, error = parse_value(f, raw.get(f.key))
        values[f.key] = value
        if error:
            errors[f.key] = error
    _consistency(equipement_type, values, errors)
    for key in errors:
        values[key] = None
    return ParseResult(values, errors)


def unknown_keys(equipement_type: str, raw: dict) -> list[str]:
    known = {f.key for f in fields_for(equipement_type)}
    return sorted(k for k in raw if k not in known)
