"""The EAJE and ALSH bonuses read from the barème (docs/afas.md « Règles de calcul »). Pure.

Each function takes plain values and the barème section, and returns the amount with the French
text of the step-by-step estimate. Amounts per place are multiplied by the places and the taux de
ressortissants du régime général by the caller, as the bonus mixité sociale is.
"""
from __future__ import annotations

from portal.formatting import euros as eur
from portal.formatting import nombre as num


def pct(x: float) -> str:
    return num(x * 100, 2) + " %"


def mixite_par_place(eaje: dict, participation_horaire: float | None) -> float:
    """Bonus mixité sociale per place: the first tier whose hourly participation limit is met."""
    if participation_horaire is None:
        return 0.0
    for tier in eaje["bonus_mixite_sociale"]:
        if participation_horaire <= float(tier["participation_horaire_max"]):
            return float(tier["montant_par_place"])
    return 0.0


def handicap_par_place(eaje: dict, inscrits: float, aeeh: float) -> tuple[float, str]:
    """Bonus inclusion handicap per place: the highest step whose share of AEEH children is
    reached, from the first AEEH child (the first step starts at a share of 0, and applies as soon
    as one child receives the AEEH). No child, or no enrolled child: nothing."""
    steps = (eaje.get("bonus_inclusion_handicap") or {}).get("paliers") or []
    if not steps:
        return 0.0, "pas de bonus inclusion handicap dans ce barème"
    if aeeh <= 0 or inscrits <= 0:
        return 0.0, "aucun enfant bénéficiaire de l'AEEH"
    share = aeeh / inscrits
    amount, reached = 0.0, None
    for step in steps:
        if share >= float(step["part_aeeh_min"]):
            amount, reached = float(step["montant_par_place"]), float(step["part_aeeh_min"])
    where = "dès le premier enfant" if not reached else f"palier à partir de {pct(reached)}"
    return amount, (f"{num(aeeh)} enfant{'s' if aeeh >= 2 else ''} AEEH sur {num(inscrits)} inscrits, soit {pct(share)} "
                    f"({where}) → {eur(amount)} par place")


ZONES = {"QPV": "quartier prioritaire de la politique de la ville", "ZRR": "zone de revitalisation rurale"}


def territoire_par_place(eaje: dict, territoire: dict | None) -> tuple[float, float, str]:
    """Bonus territoire: (amount per place, eligible places, explanation).

    Only for an équipement whose area has been validated by the Caf: places created in a
    priority area (QPV, ZRR) take the `zone_prioritaire` amount; otherwise, places covered by a
    convention territoriale globale (CTG) take the `ctg` amount."""
    rates = (eaje.get("bonus_territoire") or {}).get("montant_par_place") or {}
    t = territoire or {}
    if not rates:
        return 0.0, 0.0, "pas de bonus territoire dans ce barème"
    if not t.get("valide"):
        return 0.0, 0.0, "territoire non déclaré ou pas encore validé par la Caf"
    places = float(t.get("places") or 0)
    if t.get("zone") in ZONES:
        rate, why = float(rates.get("zone_prioritaire", 0)), f"places créées en {t['zone']} ({ZONES[t['zone']]})"
    elif t.get("ctg"):
        rate, why = float(rates.get("ctg", 0)), "places couvertes par une convention territoriale globale"
    else:
        return 0.0, 0.0, "ni zone prioritaire ni convention territoriale globale"
    return rate, places, f"{why} : {eur(rate)} par place × {num(places)} places"


def plan_mercredi(alsh: dict, values: dict) -> tuple[float, float, float, str]:
    """ALSH plan mercredi: (bonification, eligible hours, cap, explanation) before the taux de
    ressortissants. Eligible hours are the declared Wednesday hours within the caps: capacity ×
    (full Wednesdays with a meal × 9 h + half-days × 4 h)."""
    spec = alsh.get("plan_mercredi")
    if not spec or not values.get("plan_mercredi"):
        return 0.0, 0.0, 0.0, "pas de plan mercredi"
    heures = float(values.get("heures_mercredi") or 0)
    cap = plafond_mercredi(spec, values)
    eligible = min(heures, cap)
    rate = float(spec["bonification_par_heure"])
    return rate * eligible, eligible, cap, (
        f"{eur(rate)} × {num(eligible)} h de mercredi éligibles (déclarées {num(heures)} h, "
        f"plafond {num(cap)} h)")


def plafond_mercredi(spec: dict, values: dict) -> float:
    capacite = float(values.get("capacite") or 0)
    journees = float(values.get("mercredis_journee") or 0)
    demi = float(values.get("mercredis_demi_journee") or 0)
    return capacite * (journees * float(spec["plafond_heures_journee_repas"])
                       + demi * float(spec["plafond_heures_demi_journee"]))
