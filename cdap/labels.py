"""CDAP's label table: the French words people read instead of the domain's codes.

Profiles, sections, motifs, outcomes and channels keep their tables where the rules use them
(``cdap.policy``, ``cdap.journal``, ``cdap.models``); this module gathers what the shell shows
for CDAP (audit actions, detail keys, values) and the helpers the CDAP pages use to turn lists of
codes into words, declared in ``cdap.register`` as ``Domain(labels=LABELS)``.
"""
from __future__ import annotations

from .atypical import KINDS
from .journal import CHANNELS, OUTCOMES
from .models import QUEUE_STATUTS
from .policy import MOTIFS, POLICY, SECTIONS

QUEUE_ACTIONS = {"prendre": "prise en charge", "plan": "plan d'apurement reçu", "clore": "clôture",
                 "rouvrir": "réouverture"}

AUDIT_ACTIONS = {
    "alerte_traitee": "Alerte d'usage atypique traitée",
    "habilitation_suspendue": "Habilitation CDAP suspendue (usage atypique)",
    "suspension_levee": "Suspension CDAP levée",
    "journal_allocataire_consulte": "Journal d'un allocataire consulté",
    "journal_allocataire_exporte": "Journal d'un allocataire exporté",
    **{f"file_impayes_{code}": f"File des impayés : {label}" for code, label in QUEUE_ACTIONS.items()},
}

AUDIT_DETAILS = {"jusqu_au": "Jusqu'au", "de": "De", "vers": "Vers", "cdap_profile": "Profil CDAP",
                 "categories": "Données affichées"}

VALEURS = {
    **{code: label.lower() for code, label in QUEUE_STATUTS.items()},
    **KINDS,
    **SECTIONS,
    **CHANNELS,
    **OUTCOMES,
    **{code: profile.label for code, profile in POLICY.items()},
    **{code: label for code, label in MOTIFS.items()},
    "CDAP": "CDAP",
}


# « versé à l'allocataire », « versé au bailleur (tiers payant) »: the whole phrase, French
# elision included.
VERSE_A = {"allocataire": "versé à l'allocataire", "bailleur": "versé au bailleur (tiers payant)"}
# Paid once a year (the allocation de rentrée scolaire, in August): « par an », not « par mois ».
PRESTATIONS_ANNUELLES = frozenset({"ARS"})


def sections(codes) -> str:
    """« Identité, Quotient familial »: section codes as people read them."""
    return ", ".join(SECTIONS.get(c, c) for c in codes or []) or "aucune"


def profile(code: str | None) -> str:
    return POLICY[code].label if code in POLICY else (code or "—")


LABELS = {"audit_categories": {"cdap": "CDAP"}, "audit_targets": {"alerte": "Alerte n°", "file_impayes": "Impayé de la file n°"}, "audit_actions": AUDIT_ACTIONS,
          "audit_details": AUDIT_DETAILS, "valeurs": VALEURS}
