"""Ready-made declaration data for AFAS tests (strings, as typed in the form)."""
from afas.bareme import Bareme, file_baremes, pick
from afas.schema import CHARGE_LINES, PRODUIT_LINES


def bareme(annee: int = 2025) -> Bareme:
    return pick(file_baremes(), annee)


def finances(charges: float, produits: float) -> dict:
    """Charges all on account 64 and produits on 74, totals matching."""
    out = {k: "0" for k, _ in CHARGE_LINES + PRODUIT_LINES}
    out["c64"], out["total_charges"] = str(charges), str(charges)
    out["p74"], out["total_produits"] = str(produits), str(produits)
    return out


def eaje(**over) -> dict:
    data = {"places_agreees": "40", "jours_ouverture": "225", "amplitude_horaire": "11",
            "heures_realisees": "72000", "heures_facturees": "75000", "participations_familiales": "108000",
            "couches_repas": "on", "enfants_inscrits": "85", "enfants_aeeh": "0", "taux_regime_general": "100",
            **finances(864000, 864000)}
    data.update({k: str(v) if not isinstance(v, bool) else v for k, v in over.items()})
    return data


def alsh(**over) -> dict:
    data = {"capacite": "80", "jours_ouverture": "140", "amplitude_horaire": "3", "heures_realisees": "30000",
            "enfants_accueillis": "150", "taux_regime_general": "100", **finances(210000, 200000)}
    data.update({k: str(v) for k, v in over.items()})
    return data


def rpe(**over) -> dict:
    data = {"etp_animateur": "2", "assistantes_maternelles": "100", "missions_renforcees": "non",
            **finances(100000, 100000)}
    data.update({k: str(v) for k, v in over.items()})
    return data


def laep(**over) -> dict:
    data = {"heures_ouverture": "400", "heures_organisation": "100", "accueillants_par_seance": "2",
            "familles_accueillies": "60", **finances(60000, 60000)}
    data.update({k: str(v) for k, v in over.items()})
    return data
