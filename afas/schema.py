"""What an AFAS declaration contains, by équipement type (docs/domaine.md §2). Pure data, no Flask.

Each field has a stable key (used in forms, JSON API, exports and frozen versions), a French
label, a kind that drives parsing, and an upper bound beyond which a value is "absurde".
"""
from __future__ import annotations

from dataclasses import dataclass

EQUIPEMENT_TYPES = {
    "EAJE": "Établissement d'accueil du jeune enfant (PSU)",
    "ALSH": "Accueil de loisirs sans hébergement",
    "RPE": "Relais petite enfance",
    "LAEP": "Lieu d'accueil enfants-parents",
    "PSJ": "Structure jeunesse (PS Jeunes)",
    "FJT": "Foyer de jeunes travailleurs",
}
# Types whose formula comes from the barème only (section named after the lowercase code, with
# `formule: par_unite`): adding one is a label here, its fields below and its barème section.
ALSH_ACTIVITES = {"periscolaire": "Périscolaire", "extrascolaire": "Extrascolaire"}

DECLARATION_TYPES = {
    "previsionnel": "Prévisionnel",
    "actualise_juin": "Actualisé juin",
    "actualise_septembre": "Actualisé septembre",
    "reel": "Réel",
}

STATUS_LABELS = {
    "brouillon": "Brouillon",
    "transmise": "Transmise",
    "en_instruction": "En instruction",
    "a_corriger": "À corriger",
    "validee": "Validée",
    "payee": "Payée",
}
# Statuses in which the partner may edit; the others are frozen (or with the Caf).
EDITABLE_STATUSES = ("brouillon", "a_corriger")


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    kind: str  # entier, decimal, heures, montant, pourcentage, booleen
    maximum: float = 0.0
    hint: str = ""
    required: bool = True

    @property
    def unit(self) -> str:
        return {"montant": "€", "heures": "h", "pourcentage": "%"}.get(self.kind, "")


MAX_EUROS = 100_000_000.0      # no équipement declares 100 M€ on one line
MAX_HEURES = 10_000_000.0

ACTIVITY_FIELDS: dict[str, tuple[Field, ...]] = {
    "EAJE": (
        Field("places_agreees", "Places agréées", "entier", 500),
        Field("jours_ouverture", "Jours d'ouverture dans l'année", "entier", 366),
        Field("amplitude_horaire", "Amplitude horaire journalière", "heures", 24,
              "Nombre d'heures d'ouverture par jour, ex. 11,5"),
        Field("heures_realisees", "Heures réalisées", "heures", MAX_HEURES,
              "Heures de présence effective des enfants"),
        Field("heures_facturees", "Heures facturées", "heures", MAX_HEURES,
              "Heures facturées aux familles"),
        Field("participations_familiales", "Participations familiales", "montant", MAX_EUROS),
        Field("couches_repas", "Fourniture des couches et des repas", "booleen"),
        Field("enfants_inscrits", "Enfants inscrits", "entier", 5000),
        Field("enfants_aeeh", "Enfants bénéficiaires de l'AEEH", "entier", 5000),
        Field("taux_regime_general", "Taux de ressortissants du régime général", "pourcentage", 100,
              "En pourcentage, ex. 97,5"),
    ),
    "ALSH": (
        Field("capacite", "Capacité d'accueil (places)", "entier", 2000),
        Field("jours_ouverture", "Jours d'ouverture dans l'année", "entier", 366),
        Field("amplitude_horaire", "Amplitude horaire journalière", "heures", 24),
        Field("heures_realisees", "Heures réalisées (actes)", "heures", MAX_HEURES,
              "Un acte est une heure de présence effective d'un enfant"),
        Field("enfants_accueillis", "Enfants accueillis", "entier", 50000),
        Field("taux_regime_general", "Taux de ressortissants du régime général", "pourcentage", 100),
        Field("plan_mercredi", "Accueil labellisé « plan mercredi »", "booleen"),
        Field("mercredis_journee", "Mercredis en journée avec repas", "entier", 53,
              "Plafond : 9 h par enfant et par mercredi", required=False),
        Field("mercredis_demi_journee", "Demi-journées de mercredi sans repas", "entier", 106,
              "Plafond : 4 h par enfant et par demi-journée", required=False),
        Field("heures_mercredi", "Heures réalisées le mercredi (plan mercredi)", "heures", MAX_HEURES,
              "Comprises dans les heures réalisées", required=False),
    ),
    "RPE": (
        Field("etp_animateur", "ETP d'animateur", "decimal", 100, "Équivalents temps plein, ex. 1,5"),
        Field("assistantes_maternelles", "Assistantes maternelles actives", "entier", 10000),
        Field("missions_renforcees", "Missions renforcées", "booleen"),
    ),
    "LAEP": (
        Field("heures_ouverture", "Heures d'ouverture au public", "heures", 10000),
        Field("heures_organisation", "Heures d'organisation", "heures", 10000),
        Field("accueillants_par_seance", "Accueillants par séance", "decimal", 50),
        Field("familles_accueillies", "Familles accueillies", "entier", 100000),
    ),
    "PSJ": (
        Field("etp_animateur", "ETP d'animateur", "decimal", 100, "Équivalents temps plein, ex. 1,5"),
        Field("jeunes_accueillis", "Jeunes accueillis", "entier", 100000),
    ),
    "FJT": (
        Field("residents", "Résidents (moyenne annuelle)", "entier", 5000),
        Field("charges_socio_educatives", "Charges de la fonction socio-éducative", "montant", MAX_EUROS,
              "Comprises dans le total des charges"),
    ),
}

CHARGE_LINES = (
    ("c60", "60 — Achats"),
    ("c61", "61 — Services extérieurs"),
    ("c62", "62 — Autres services extérieurs"),
    ("c63", "63 — Impôts, taxes et versements assimilés"),
    ("c64", "64 — Charges de personnel"),
    ("c65", "65 — Autres charges de gestion courante"),
    ("c66", "66 — Charges financières"),
    ("c67", "67 — Charges exceptionnelles"),
    ("c68", "68 — Dotations aux amortissements et provisions"),
)
PRODUIT_LINES = (
    ("p70", "70 — Ventes, prestations (dont participations familiales)"),
    ("p71", "71 — Production stockée"),
    ("p72", "72 — Production immobilisée"),
    ("p73", "73 — Produits nets partiels"),
    ("p74", "74 — Subventions d'exploitation (Caf, collectivités, autres financeurs)"),
    ("p75", "75 — Autres produits de gestion courante"),
    ("p76", "76 — Produits financiers"),
    ("p77", "77 — Produits exceptionnels"),
    ("p78", "78 — Reprises sur amortissements et provisions"),
)

FINANCIAL_FIELDS: tuple[Field, ...] = (
    *(Field(k, label, "montant", MAX_EUROS) for k, label in CHARGE_LINES),
    Field("total_charges", "Total des charges", "montant", 10 * MAX_EUROS,
          "Doit être égal à la somme des comptes 60 à 68"),
    *(Field(k, label, "montant", MAX_EUROS) for k, label in PRODUIT_LINES),
    Field("total_produits", "Total des produits", "montant", 10 * MAX_EUROS,
          "Doit être égal à la somme des comptes 70 à 78"),
)


def fields_for(equipement_type: str) -> tuple[Field, ...]:
    return ACTIVITY_FIELDS[equipement_type] + FINANCIAL_FIELDS


ALL_FIELD_KEYS: tuple[str, ...] = tuple(dict.fromkeys(
    f.key for t in EQUIPEMENT_TYPES for f in fields_for(t)))
# One label per key for what mixes équipement types (export headers): the first type's (EAJE),
# never the ALSH « (actes) » wording. Messages about one declaration use labels_for(its type).
ALL_LABELS: dict[str, str] = {}
for _t in EQUIPEMENT_TYPES:
    for _f in fields_for(_t):
        ALL_LABELS.setdefault(_f.key, _f.label)
del _t, _f


def labels_for(equipement_type: str) -> dict[str, str]:
    """Field labels as the form of this équipement type shows them (messages, diffs)."""
    return {**ALL_LABELS, **{f.key: f.label for f in fields_for(equipement_type)}}
