"""Hand-computed cases of the rules of issue #21 (docs/afas.md « Règles de calcul »): the taux de
facturation bands before 2025, the bonus inclusion handicap and territoire, plan mercredi, PS
Jeunes, FJT and RPE without ETP. Amounts come from the fictitious demo barèmes."""
import pytest

from afas.controles import evaluate
from afas.droit import compute_droit, eaje_plafond
from afas.validation import parse_declaration

from .helpers import alsh, bareme, eaje, finances, rpe


def droit(kind, data, annee=2025, contexte=None):
    return compute_droit(kind, parse_declaration(kind, data).values, bareme(annee), contexte)


def codes(kind, data, annee=2025):
    return {c.code: c for c in evaluate(kind, "reel", data, bareme(annee)).controles}


# -- taux de facturation, band rule (2014–2024) --------------------------------------------------
# 72 000 h réalisées, 864 000 € of charges (12 €/h, above every plafond), 120 000 € of
# participations (above 1,25 €/h at every taux: no bonus mixité), 100 % régime général.
@pytest.mark.parametrize("facturees, couches, plafond, montant", [
    (72000, "on", 8.30, 274416.00),   # 100 % ≤ 107 %: 0,66 × 8,30 × 72 000 − 120 000
    (79200, "on", 8.05, 262536.00),   # 110 %, second band: 0,66 × 8,05 × 72 000 − 120 000
    (86400, "on", 7.75, 248280.00),   # 120 % > 117 %: 0,66 × 7,75 × 72 000 − 120 000
    (72000, "", 7.90, 255408.00),     # without couches/repas: 0,66 × 7,90 × 72 000 − 120 000
    (79200, "", 7.65, 243528.00),
    (86400, "", 7.35, 229272.00),
])
def test_2024_band_rule_by_hand(facturees, couches, plafond, montant):
    result = droit("EAJE", eaje(heures_facturees=facturees, participations_familiales=120000,
                                couches_repas=couches), annee=2024)
    assert result.indicateurs["prix_plafond_horaire"] == plafond
    assert result.montant == montant
    assert "plafond de la tranche" in result.etapes[2].detail


@pytest.mark.parametrize("tf, plafond", [(1.07, 8.30), (1.0701, 8.05), (1.17, 8.05), (1.1701, 7.75), (2.0, 7.75)])
def test_2024_band_edges_are_inclusive_at_the_top(tf, plafond):
    assert eaje_plafond(bareme(2024), True, tf)[0] == plafond


def test_2023_has_its_own_bands():
    assert eaje_plafond(bareme(2023), False, 1.10)[0] == 7.45


def test_2025_linear_rule_is_kept():
    value, why = eaje_plafond(bareme(2025), True, 1.135)
    assert value == pytest.approx(8.50 - 0.85 * 0.5) and "entre 107 % et 120 %" in why


def test_band_thresholds_in_the_checks_follow_the_year():
    c = codes("EAJE", eaje(heures_facturees=86400, participations_familiales=124416), annee=2024)
    assert "TAUX-FACTURATION-120" in c and "117 %" in c["TAUX-FACTURATION-120"].message
    assert "dernière tranche" in c["TAUX-FACTURATION-120"].message
    c = codes("EAJE", eaje(heures_facturees=86400, participations_familiales=124416), annee=2025)
    assert "TAUX-FACTURATION-107" in c   # 120 % is not beyond 120 % under the 2025 rule


# -- the ≥ 120 % floor frozen until 2027 ------------------------------------------------------------
def test_floor_not_revalued_before_2027():
    assert eaje_plafond(bareme(2026), True, 1.30)[0] == eaje_plafond(bareme(2025), True, 1.30)[0] == 7.65
    assert eaje_plafond(bareme(2026), False, 1.30)[0] == 7.29
    assert eaje_plafond(bareme(2027), False, 1.30)[0] == 7.65   # revalued from 2027


# -- bonus inclusion handicap -------------------------------------------------------------------
# eaje(): 40 places, PSU 295 920 € (see test_droit), 1,44 €/h of participation (no mixité bonus).
@pytest.mark.parametrize("aeeh, inscrits, per_place", [
    (0, 85, 0),        # no AEEH child
    (1, 85, 400),      # the first child: 1,18 %, first step
    (5, 50, 1000),     # exactly 10 %
    (20, 50, 1300),    # 40 %: the top step
])
def test_bonus_inclusion_handicap_by_hand(aeeh, inscrits, per_place):
    result = droit("EAJE", eaje(enfants_aeeh=aeeh, enfants_inscrits=inscrits))
    assert result.montant == 295920.00 + per_place * 40
    step = next(s for s in result.etapes if s.label == "Bonus inclusion handicap")
    assert step.value.replace("\u202f", " ").startswith(f"{per_place * 40:,}".replace(",", " "))


def test_bonus_handicap_shown_with_the_share_and_scaled_by_the_regime_general():
    result = droit("EAJE", eaje(enfants_aeeh=1, taux_regime_general=50))
    step = next(s for s in result.etapes if s.label == "Bonus inclusion handicap")
    assert "1 enfant AEEH sur 85 inscrits" in step.detail and "dès le premier enfant" in step.detail
    assert result.montant == round(295920 * 0.5 + 400 * 40 * 0.5, 2)


# -- bonus territoire ---------------------------------------------------------------------------
@pytest.mark.parametrize("territoire, bonus", [
    ({"zone": "QPV", "ctg": False, "places": 10, "valide": True}, 12000),   # 1 200 € × 10 places
    ({"zone": "ZRR", "ctg": True, "places": 4, "valide": True}, 4800),      # priority area first
    ({"zone": None, "ctg": True, "places": 10, "valide": True}, 8000),      # CTG: 800 € × 10
    ({"zone": "QPV", "ctg": True, "places": 10, "valide": False}, 0),       # not validated by the Caf
    (None, 0),
])
def test_bonus_territoire_by_hand(territoire, bonus):
    result = droit("EAJE", eaje(), contexte={"territoire": territoire})
    assert result.montant == 295920.00 + bonus
    assert result.montant <= result.plafond_formule


# -- ALSH plan mercredi -------------------------------------------------------------------------
# alsh(): 80 places, 30 000 actes at 7 €/acte, above the 5,80 € plafond: 0,30 × 5,80 × 30 000 = 52 200.
# 30 Wednesdays with a meal and 6 half-days: cap 80 × (30 × 9 + 6 × 4) = 23 520 h.
MERCREDI = {"plan_mercredi": "oui", "mercredis_journee": 30, "mercredis_demi_journee": 6}


def test_plan_mercredi_bonification_by_hand():
    result = droit("ALSH", alsh(heures_mercredi=5000, **MERCREDI))
    assert result.montant == 52200.00 + 0.46 * 5000   # 54 500
    assert codes("ALSH", alsh(heures_mercredi=5000, **MERCREDI)).keys().isdisjoint(
        {"MERCREDI-PLAFOND", "MERCREDI-HEURES"})


def test_plan_mercredi_not_labelled_gets_nothing():
    assert droit("ALSH", alsh(heures_mercredi=5000, **{**MERCREDI, "plan_mercredi": "non"})).montant == 52200.00


def test_plan_mercredi_caps_are_bloquant_and_bound_the_bonification():
    data = alsh(heures_mercredi=24000, **MERCREDI)
    c = codes("ALSH", data)["MERCREDI-PLAFOND"]
    assert c.severite == "bloquant" and c.seuil == 23520
    assert "80 places × (30 mercredis en journée avec repas × 9 h + 6 demi-journées × 4 h)" in c.message
    assert droit("ALSH", data).montant == round(52200 + 0.46 * 23520, 2)   # 63 019,20
    assert "MERCREDI-HEURES" in codes("ALSH", alsh(heures_mercredi=31000, mercredis_journee=50,
                                                 plan_mercredi="oui"))


# -- types from barème data only -----------------------------------------------------------------
def psj(**over):
    return {"etp_animateur": "1,5", "jeunes_accueillis": "120", **finances(80000, 80000), **over}


def fjt(**over):
    return {"residents": "60", "charges_socio_educatives": "70000", **finances(400000, 400000), **over}


def test_ps_jeunes_per_etp_by_hand():
    # 2025: 41 000 € per ETP × 1,5 = 61 500 € < 80 000 € of charges; 50 % × 61 500
    assert droit("PSJ", psj()).montant == 30750.00
    assert droit("PSJ", psj(**finances(50000, 50000))).montant == 25000.00   # below the cap: 50 % × 50 000


def test_fjt_per_resident_by_hand():
    # 2025: 940 € per resident × 60 = 56 400 € < 70 000 € socio-educational charges; 30 % × 56 400
    result = droit("FJT", fjt())
    assert result.montant == 16920.00
    assert "Résidents" in result.etapes[0].detail or "résidents" in result.etapes[0].detail
    assert droit("FJT", fjt(charges_socio_educatives="30000")).montant == 9000.00


def test_new_types_are_checked_like_the_others():
    found = codes("FJT", fjt(charges_socio_educatives="500000"))
    assert "SAISIE-INVALIDE" in found and "charges socio-éducatives" in found["SAISIE-INVALIDE"].message
    assert "VALEURS-MANQUANTES" in codes("PSJ", psj(etp_animateur=""))
    assert codes("PSJ", psj()) == {}


# -- RPE with no animateur ETP --------------------------------------------------------------------
def test_rpe_missions_renforcees_without_etp_is_bloquant_and_gets_no_bonus():
    data = rpe(etp_animateur=0, missions_renforcees="oui")
    assert droit("RPE", data).montant == 0.00          # was 3 229 €
    c = codes("RPE", data)["RPE-MISSIONS-SANS-ETP"]
    assert c.severite == "bloquant" and "0 ETP" in c.message
    with_etp = rpe(missions_renforcees="oui")           # 0,43 × min(100 000 ; 2 × 55 000) + 3 229
    assert droit("RPE", with_etp).montant == 46229.00
    assert "RPE-MISSIONS-SANS-ETP" not in codes("RPE", with_etp)
