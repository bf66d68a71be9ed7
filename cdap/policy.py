"""THE policy table: which sections and fields of a file each CDAP profile may see, which rows
of a section, how many months of history, within which scope, for which motifs.

Pages, print view and API render only what `cdap.dossier.build_view` returns, and that
function reads nothing but this table. Pure Python: no Flask, no database.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Every field of a file, by section, in display order (labels are the UI's).
SECTIONS: dict[str, str] = {
    "identite": "Identité",
    "adresse": "Adresse",
    "foyer": "Foyer",
    "quotient_familial": "Quotient familial",
    "droits": "Droits",
    "paiements": "Paiements",
    "logement": "Logement",
    "impayes": "Impayés de loyer",
}

FIELDS: dict[str, dict[str, str]] = {
    "identite": {"numero": "Numéro allocataire", "nom": "Nom", "prenom": "Prénom",
                 "date_naissance": "Date de naissance", "situation_familiale": "Situation familiale"},
    "adresse": {"adresse": "Adresse", "code_postal": "Code postal", "commune": "Commune"},
    "foyer": {"conjoint_nom": "Nom du conjoint", "conjoint_prenom": "Prénom du conjoint",
              "conjoint_date_naissance": "Date de naissance du conjoint",
              "enfant_prenom": "Prénom de l'enfant", "enfant_nom": "Nom de l'enfant",
              "enfant_date_naissance": "Date de naissance de l'enfant",
              "enfant_a_charge": "À charge"},
    "quotient_familial": {"mois": "Mois", "qf": "Quotient familial"},
    "droits": {"prestation": "Prestation", "montant": "Montant mensuel", "date_debut": "Début",
               "date_fin": "Fin", "statut": "Statut"},
    "paiements": {"mois": "Mois", "prestation": "Prestation", "montant": "Montant",
                  "date_paiement": "Date de paiement", "beneficiaire": "Bénéficiaire"},
    "logement": {"code_bailleur": "Code bailleur", "code_locataire": "Code locataire",
                 "loyer": "Loyer", "charges": "Charges", "nb_colocataires": "Colocataires",
                 "date_entree": "Date d'entrée", "date_sortie": "Date de sortie",
                 "tiers_payant": "Tiers payant", "historique_loyers": "Historique des loyers"},
    "impayes": {"date_signalement": "Signalé le", "date_constitution": "Constitué le",
                "montant_dette": "Dette", "loyer_mensuel": "Loyer mensuel",
                "periode": "Période", "plan_apurement": "Plan d'apurement",
                "date_limite_plan": "Plan attendu avant le", "maintien_aide": "Maintien de l'aide",
                "statut": "Statut"},
}

ALL_FIELDS: tuple[str, ...] = tuple(f"{s}.{f}" for s, fields in FIELDS.items() for f in fields)

MOTIFS: dict[str, str] = {
    "accompagnement_social": "Accompagnement social",
    "instruction_aide": "Instruction d'une aide",
    "tarification": "Tarification (quotient familial)",
    "prevention_expulsions": "Prévention des expulsions",
    "gestion_locative": "Gestion locative (tiers payant, impayé)",
    "gestion_dossier": "Gestion du dossier par la Caf",
    "reponse_allocataire": "Réponse à une demande de l'allocataire",
}

# Scopes: "all" files; "territoire": the organisation's département; "locataires": the
# organisation's current tenants (logement with its code_bailleur, not left).
SCOPES = ("all", "territoire", "locataires")


@dataclass(frozen=True)
class SectionRule:
    fields: tuple[str, ...]
    rows: str = "all"          # which rows: all | a_charge | aides_logement | bailleur_propre
    # History depth for dated rows (None: everything): "the last N months" are exactly the N
    # completed months before the current one, which does not count (the Caf's extract holds
    # closed months): in December 2026, 12 months run from December 2025 to November 2026
    # (cdap.dossier._window).
    months: int | None = None


@dataclass(frozen=True)
class Profile:
    label: str
    scope: str
    motifs: tuple[str, ...]
    sections: dict[str, SectionRule] = field(default_factory=dict)


def _all(section: str, **kw) -> SectionRule:
    return SectionRule(tuple(FIELDS[section]), **kw)



# What the territory's social work reads (social workers and their team lead alike).
_SOCIAL_WORK_FILE = {
    "identite": _all("identite"),
    "adresse": _all("adresse"),
    "foyer": _all("foyer"),
    "quotient_familial": _all("quotient_familial", months=24),
    "droits": _all("droits"),
    "paiements": _all("paiements", months=24),
    "logement": _all("logement"),
    "impayes": _all("impayes"),
}
POLICY: dict[str, Profile] = {
    "quotient_familial": Profile(
        "Quotient familial", "all",
        ("tarification", "instruction_aide"),
        {
            "identite": SectionRule(("numero", "nom", "prenom")),
            "foyer": SectionRule(("enfant_prenom", "enfant_date_naissance"), rows="a_charge"),
            "quotient_familial": _all("quotient_familial", months=12),
        }),
    "bailleur": Profile(
        "Bailleur", "locataires",
        ("gestion_locative", "instruction_aide"),
        {
            "identite": SectionRule(("numero", "nom", "prenom")),
            "droits": _all("droits", rows="aides_logement"),
            "paiements": _all("paiements", rows="bailleur_propre", months=24),
            "logement": SectionRule(("code_locataire", "loyer", "charges", "date_entree",
                                     "date_sortie", "tiers_payant"), rows="bailleur_propre"),
            "impayes": SectionRule(("date_signalement", "statut", "plan_apurement",
                                    "date_limite_plan"), rows="bailleur_propre"),
        }),
    "travailleur_social": Profile(
        "Travailleur social", "territoire",
        ("accompagnement_social", "instruction_aide", "prevention_expulsions"),
        _SOCIAL_WORK_FILE),
    # The team lead of the territory's social workers: the same file as a social worker, and
    # every case of the unpaid-rent follow-up with its notes and budget (SUIVI below).
    "responsable_equipe": Profile(
        "Responsable d'équipe sociale", "territoire",
        ("accompagnement_social", "instruction_aide", "prevention_expulsions"),
        _SOCIAL_WORK_FILE),
    "prevention_expulsions": Profile(
        "Prévention des expulsions", "territoire",
        ("prevention_expulsions", "accompagnement_social"),
        {
            "identite": _all("identite"),
            "droits": _all("droits", rows="aides_logement"),
            "paiements": _all("paiements", rows="aides_logement", months=24),
            "logement": _all("logement"),
            "impayes": _all("impayes"),
        }),
    "agent_caf": Profile(
        "Agent Caf", "all",
        tuple(MOTIFS),
        {section: _all(section) for section in SECTIONS}),
}


# --- the unpaid-rent case (« situation », cdap.situations) -------------------------------------
# What each profile sees of a case. Notes and budget are the most sensitive personal data: only
# the assigned worker (« référent »), the team lead and the Caf agents of the territory.
SUIVI_FIELDS: dict[str, str] = {
    "recu": "Signalement reçu le",
    "plan": "Plan d'apurement",
    "maintien_aide": "Maintien de l'aide",
    "dette": "Dette",
    "referent": "Suivi par",
    "contacts": "Contacts avec la famille",
    "mode": "Mode d'intervention",
    "rdv": "Rendez-vous",
    "actions": "Actions",
    "echeances": "Échéances",
    "procedure": "Procédure d'expulsion",
    "cloture": "Clôture",
    "notes": "Notes",
    "budget": "Diagnostic budgétaire",
}
SUIVI_SENSITIVE = frozenset({"notes", "budget"})
# Journal categories of a case read (cdap.situations.access.journal_read), for the exports.
SUIVI_CATEGORIES = {"suivi": "Suivi de l'impayé", "suivi_notes": "Notes du suivi",
                    "suivi_budget": "Budget du foyer"}
_SUIVI_WORK = tuple(f for f in SUIVI_FIELDS if f not in SUIVI_SENSITIVE)
SUIVI: dict[str, tuple[str, ...]] = {
    "bailleur": ("recu", "plan", "maintien_aide"),
    "prevention_expulsions": ("recu", "plan", "maintien_aide", "dette", "referent", "actions",
                              "echeances", "procedure", "cloture"),
    "travailleur_social": _SUIVI_WORK,
    "responsable_equipe": tuple(SUIVI_FIELDS),
    "agent_caf": tuple(SUIVI_FIELDS),
}


def suivi_fields(profile_name: str, *, referent: bool = False) -> frozenset[str]:
    """Fields of a case the profile may see; the assigned worker also sees notes and budget."""
    fields = set(SUIVI.get(profile_name, ()))
    if referent and profile_name == "travailleur_social":
        fields |= SUIVI_SENSITIVE
    return frozenset(fields)


def profile(name: str | None) -> Profile | None:
    return POLICY.get(name or "")


def allowed_fields(profile_name: str) -> set[str]:
    """'section.field' names the profile may see (for tests and documentation)."""
    p = POLICY[profile_name]
    return {f"{s}.{f}" for s, rule in p.sections.items() for f in rule.fields}


def categories(profile_name: str) -> list[str]:
    """Data categories (sections) shown to the profile, in display order: journaled."""
    p = POLICY[profile_name]
    return [s for s in SECTIONS if s in p.sections]


# The profiles that work the impayé queue (its page, its home panel, a consultation opened from
# one of its items).
QUEUE_PROFILES = frozenset({"travailleur_social", "responsable_equipe", "prevention_expulsions", "agent_caf"})


def motifs_for(profile_name: str) -> dict[str, str]:
    p = POLICY.get(profile_name)
    return {code: MOTIFS[code] for code in (p.motifs if p else ())}


def _check() -> None:
    for name, p in POLICY.items():
        assert p.scope in SCOPES, name
        for code in p.motifs:
            assert code in MOTIFS, (name, code)
        for section, rule in p.sections.items():
            assert section in FIELDS, (name, section)
            for f in rule.fields:
                assert f in FIELDS[section], (name, section, f)
    for name, fields in SUIVI.items():
        assert name in POLICY and set(fields) <= set(SUIVI_FIELDS), name
    assert set(POLICY) >= QUEUE_PROFILES


_check()
