"""How a file's view (`cdap.dossier.build_view`, already cut by the policy) is laid out: the
order of its sections for each profile, the count shown beside each section's name, the
current quotient familial. Pure Python on the view: it adds nothing the view does not hold,
and removes nothing either (privacy stays the policy's, `cdap.policy`).
"""
from __future__ import annotations

# Most useful first, for what each profile comes to do; sections a profile may not see are
# simply absent from its view (and skipped here).
SECTION_ORDER: dict[str, tuple[str, ...]] = {
    # CCAPEX: the unpaid rent, then the dwelling and the housing benefit that pays it.
    "prevention_expulsions": ("impayes", "logement", "paiements", "droits", "identite"),
    # Landlord: its tenant's unpaid rent and the benefit paid to it.
    "bailleur": ("impayes", "paiements", "logement", "droits", "identite"),
    # Quotient familial: the QF first, then the children it is computed for.
    "quotient_familial": ("quotient_familial", "foyer", "identite"),
    # Social worker: who the household is, what it receives, then housing.
    "travailleur_social": ("identite", "foyer", "droits", "paiements", "quotient_familial",
                           "impayes", "logement", "adresse"),
}


def ordered_sections(view: dict) -> list[str]:
    """The view's sections, most useful first for its profile (others: the policy's order)."""
    present = list(view.get("sections", []))
    order = SECTION_ORDER.get(view.get("profil", ""), ())
    return [s for s in order if s in present] + [s for s in present if s not in order]


def section_count(view: dict, section: str) -> int | None:
    """How many items a section holds (None: a section that is one record, no count)."""
    value = view.get(section)
    if section == "foyer" and isinstance(value, dict):
        return len(value.get("enfants", [])) + (1 if value.get("conjoint") else 0)
    if section == "paiements" and isinstance(value, list):
        return len({p.get("mois") for p in value})  # months of payments, as the timeline groups them
    if isinstance(value, list):
        return len(value)
    return None


COUNT_WORDS = {"foyer": ("personne", "personnes"), "quotient_familial": ("mois", "mois"),
               "droits": ("droit", "droits"), "paiements": ("mois", "mois"),
               "logement": ("logement", "logements"), "impayes": ("signalement", "signalements")}


def count_label(view: dict, section: str) -> str | None:
    """« 3 signalements », for the screen reader beside the count badge."""
    n = section_count(view, section)
    if n is None:
        return None
    one, many = COUNT_WORDS.get(section, ("élément", "éléments"))
    return f"{n} {one if n < 2 else many}"


def current_qf(view: dict) -> dict | None:
    """The latest month's quotient familial in the view (the months are oldest first)."""
    rows = [r for r in view.get("quotient_familial") or [] if "mois" in r and "qf" in r]
    return max(rows, key=lambda r: r["mois"]) if rows else None


def layout(view: dict) -> dict:
    """What the templates need to lay the view out."""
    return {"order": ordered_sections(view),
            "counts": {s: section_count(view, s) for s in view.get("sections", [])},
            "count_labels": {s: count_label(view, s) for s in view.get("sections", [])},
            "current_qf": current_qf(view)}
