"""Barèmes as data: one JSON document per year, shipped in afas/baremes/ (fictitious demo values,
labelled as such) or added by a Caf admin (table `afas_baremes`, see services.import_bareme).

`validate_bareme(doc)` lists every problem in French; `Bareme` gives typed access. Pure: the
database lookup lives in services.get_bareme().
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from .bareme_regles import check_bonus, check_plancher_gele, check_taux_facturation, check_types, number
from .schema import ALL_LABELS, EQUIPEMENT_TYPES

BAREME_DIR = Path(__file__).parent / "baremes"
BUILT_IN_TYPES = ("EAJE", "ALSH", "RPE", "LAEP")  # formulas in droit.py; the others are barème data
DECLARATION_KEYS = ("previsionnel", "actualise_juin", "actualise_septembre", "reel")


class BaremeError(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


_number = number


def validate_bareme(doc, others: dict[int, dict] | None = None) -> list[str]:
    """Return the list of problems (empty when the document is a usable barème). `others`: the
    documents of the other loaded years, for the rules across years (the frozen floor)."""
    problems: list[str] = []
    if not isinstance(doc, dict):
        return ["le barème doit être un objet JSON"]
    annee = doc.get("annee")
    if isinstance(annee, bool) or not isinstance(annee, int) or not 2000 <= annee <= 2100:
        problems.append("annee : entier entre 2000 et 2100 attendu")
    if not isinstance(doc.get("libelle"), str) or not doc.get("libelle", "").strip():
        problems.append("libelle : texte attendu")
    if not isinstance(doc.get("fictif"), bool):
        problems.append("fictif : true ou false attendu (les valeurs de démonstration sont fictives)")
    for key in ("eaje.prix_plafond_horaire.avec_couches_repas", "eaje.prix_plafond_horaire.sans_couches_repas"):
        _number(doc, key, problems, 0.01, 1000)
    _number(doc, "eaje.taux_prise_en_charge", problems, 0, 1)
    check_taux_facturation(doc, problems)
    check_bonus(doc, problems)
    bonus = doc.get("eaje", {}).get("bonus_mixite_sociale") if isinstance(doc.get("eaje"), dict) else None
    if not isinstance(bonus, list):
        problems.append("eaje.bonus_mixite_sociale : liste attendue")
    else:
        previous = -1.0
        for i, tier in enumerate(bonus):
            limit = _number(tier, "participation_horaire_max", problems, 0, 100) if isinstance(tier, dict) else None
            _number(tier, "montant_par_place", problems, 0, 100000) if isinstance(tier, dict) else None
            if not isinstance(tier, dict):
                problems.append(f"eaje.bonus_mixite_sociale[{i}] : objet attendu")
            elif limit is not None and limit <= previous:
                problems.append("eaje.bonus_mixite_sociale : tranches à classer par participation croissante")
            previous = limit if limit is not None else previous
    _number(doc, "alsh.taux_prise_en_charge", problems, 0, 1)
    _number(doc, "alsh.prix_plafond_acte", problems, 0.01, 1000)
    _number(doc, "rpe.taux_prise_en_charge", problems, 0, 1)
    _number(doc, "rpe.plafond_par_etp", problems, 1, 10_000_000)
    _number(doc, "rpe.bonus_missions_renforcees", problems, 0, 10_000_000)
    _number(doc, "laep.taux_prise_en_charge", problems, 0, 1)
    _number(doc, "laep.prix_plafond_horaire", problems, 0.01, 10000)
    check_types(doc, problems, {k: v for k, v in EQUIPEMENT_TYPES.items() if k not in BUILT_IN_TYPES}, ALL_LABELS)
    _number(doc, "acomptes.taux_max", problems, 0, 1)
    echeances = doc.get("acomptes", {}).get("echeances") if isinstance(doc.get("acomptes"), dict) else None
    if not isinstance(echeances, list) or not echeances:
        problems.append("acomptes.echeances : liste non vide attendue")
    else:
        total = 0.0
        for i, e in enumerate(echeances):
            if not isinstance(e, dict):
                problems.append(f"acomptes.echeances[{i}] : objet attendu")
                continue
            total += _number(e, "part", problems, 0, 1) or 0
            month = _number(e, "mois", problems, 1, 12)
            day = _number(e, "jour", problems, 1, 31)
            if month and day:
                try:
                    date(2024, int(month), int(day))
                except ValueError:
                    problems.append(f"acomptes.echeances[{i}] : date {day}/{month} impossible")
        if abs(total - 1.0) > 1e-9:
            problems.append("acomptes.echeances : la somme des parts doit valoir 1")
    for key, low, high in (("ecart_reel_previsionnel", 0, 10), ("ecart_actualise_previsionnel", 0, 10),
                           ("variation_prix_revient", 0, 10), ("participation_horaire_plancher", 0, 100),
                           ("participation_horaire_plafond", 0, 100), ("excedent_max", 0, 10),
                           ("assistantes_maternelles_par_etp", 1, 1000), ("accueillants_min", 0, 20),
                           ("tolerance_totaux", 0, 1000)):
        _number(doc, f"controles.{key}", problems, low, high)
    campagne = doc.get("campagne")
    if not isinstance(campagne, dict):
        problems.append("campagne : objet attendu")
    else:
        for kind in DECLARATION_KEYS:
            for edge in ("ouverture", "echeance"):
                base = f"campagne.{kind}.{edge}"
                offset = _number(doc, base + ".decalage_annee", problems, -2, 2)
                month = _number(doc, base + ".mois", problems, 1, 12)
                day = _number(doc, base + ".jour", problems, 1, 31)
                if offset is not None and month and day:
                    try:
                        date(2024, int(month), int(day))
                    except ValueError:
                        problems.append(f"{base} : date {day}/{month} impossible")
    if not problems and others:
        problems += check_plancher_gele(doc, others)
    return problems


@dataclass(frozen=True)
class Bareme:
    annee: int
    doc: dict
    source: str = "fichier"
    demande: int | None = None  # year asked for, when a previous year's barème stands in
    version_id: int | None = None  # the imported version (afas_bareme_versions), None for a shipped file

    def __getitem__(self, key):
        return self.doc[key]

    @property
    def fictif(self) -> bool:
        return bool(self.doc.get("fictif"))

    @property
    def libelle(self) -> str:
        return self.doc["libelle"]

    @property
    def controles(self) -> dict:
        return self.doc["controles"]

    def window(self, exercice: int, declaration_type: str) -> tuple[date, date]:
        spec = self.doc["campagne"][declaration_type]

        def at(edge):
            e = spec[edge]
            return date(exercice + int(e["decalage_annee"]), int(e["mois"]), int(e["jour"]))
        return at("ouverture"), at("echeance")


def parse_bareme(text: str | bytes, source: str = "fichier", others: dict[int, dict] | None = None) -> Bareme:
    try:
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BaremeError([f"JSON illisible : {exc}"]) from None
    problems = validate_bareme(doc, others)
    if problems:
        raise BaremeError(problems)
    return Bareme(doc["annee"], doc, source)


@lru_cache(maxsize=None)
def file_baremes() -> dict[int, Bareme]:
    """Every barème shipped in the package, validated (a broken file fails loudly)."""
    out = {}
    for path in sorted(BAREME_DIR.glob("*.json")):
        bareme = parse_bareme(path.read_text("utf-8"), source=f"fichier {path.name}",
                              others={y: b.doc for y, b in out.items()})
        out[bareme.annee] = bareme
    return out


def pick(baremes: dict[int, Bareme], annee: int) -> Bareme:
    """The barème of `annee`, or the latest earlier one standing in (flagged), or the earliest."""
    if annee in baremes:
        return baremes[annee]
    earlier = [y for y in baremes if y < annee]
    year = max(earlier) if earlier else min(baremes)
    b = baremes[year]
    return Bareme(b.annee, b.doc, b.source, demande=annee, version_id=b.version_id)
