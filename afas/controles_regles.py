"""Points de contrôle of the rules added with issue #21 (RPE without ETP, plan mercredi caps) and
the taux de facturation thresholds of a barème's rule. Pure; run by controles.run_checks, which
owns the codes and severities (controles.RULES)."""
from __future__ import annotations

from portal.formatting import nombre as num

from . import bonus
from .bareme import Bareme


def seuils_facturation(bareme: Bareme) -> tuple[float, float]:
    """The two taux de facturation thresholds of the year's rule: 107/117 % for the bands
    (2014–2024), 107/120 % for the linear rule (since 2025; also when the barème has none)."""
    rule = bareme["eaje"].get("taux_facturation") or {}
    if rule.get("regle") == "tranches":
        tops = [float(t["taux_max"]) for t in rule["tranches"] if t.get("taux_max") is not None]
        return tops[0], tops[1] if len(tops) > 1 else tops[0]
    return float(rule.get("seuil_bas", 1.07)), float(rule.get("seuil_haut", 1.20))


def rules_2026(equipement_type: str, v: dict, bareme: Bareme) -> list:
    from .controles import _make  # the one constructor of a Controle (codes and severities)
    out = []
    if equipement_type == "RPE" and v.get("missions_renforcees") and v.get("etp_animateur") == 0:
        out.append(_make("RPE-MISSIONS-SANS-ETP",
                         "Les missions renforcées sont déclarées sans ETP d'animateur (0 ETP) : le bonus "
                         "missions renforcées demande un animateur. Déclarez les ETP ou décochez les missions "
                         "renforcées.", ("missions_renforcees", "etp_animateur"), 0, None))
    spec = bareme["alsh"].get("plan_mercredi")
    if equipement_type == "ALSH" and spec and v.get("plan_mercredi") and v.get("heures_mercredi") is not None:
        heures = float(v["heures_mercredi"])
        cap = bonus.plafond_mercredi(spec, v)
        if heures > cap:
            out.append(_make(
                "MERCREDI-PLAFOND",
                f"{num(heures)} h déclarées le mercredi dépassent le plafond de {num(cap)} h : "
                f"{num(v.get('capacite') or 0)} places × ({num(v.get('mercredis_journee') or 0)} mercredis en "
                f"journée avec repas × {num(spec['plafond_heures_journee_repas'])} h + "
                f"{num(v.get('mercredis_demi_journee') or 0)} demi-journées × "
                f"{num(spec['plafond_heures_demi_journee'])} h).", ("heures_mercredi",), heures, cap))
        realisees = v.get("heures_realisees")
        if realisees is not None and heures > float(realisees):
            out.append(_make("MERCREDI-HEURES",
                             f"{num(heures)} h le mercredi pour {num(realisees)} h réalisées dans l'année : les "
                             "heures du mercredi sont comprises dans les heures réalisées.",
                             ("heures_mercredi",), heures, float(realisees)))
    return out
