"""One test per point de contrôle, with the exact thresholds."""
import pytest

from afas.controles import RULES, evaluate

from .helpers import alsh, bareme, eaje, laep, rpe


def codes(kind, data, decl="previsionnel", history=None, annee=2025):
    return {c.code: c for c in evaluate(kind, decl, data, bareme(annee), history).controles}


def test_clean_declaration_has_no_check():
    assert codes("EAJE", eaje()) == {}
    assert codes("RPE", rpe(assistantes_maternelles="140")) == {}
    assert codes("LAEP", laep()) == {}


def test_every_rule_has_a_known_severity():
    assert {sev for sev, _ in RULES.values()} == {"bloquant", "alerte"}


def test_missing_values_are_bloquant_and_listed():
    c = codes("EAJE", eaje(heures_realisees="", places_agreees=""))["VALEURS-MANQUANTES"]
    assert c.severite == "bloquant"
    assert "2 valeurs obligatoires" in c.message and "Places agréées" in c.message and "Heures réalisées" in c.message


def test_negative_and_invalid_values_are_bloquant():
    found = codes("EAJE", eaje(c60="-10", enfants_inscrits="beaucoup"))
    assert found["VALEUR-NEGATIVE"].severite == "bloquant" and "60 — Achats" in found["VALEUR-NEGATIVE"].message
    assert "Enfants inscrits" in found["SAISIE-INVALIDE"].message


def test_totals_must_match_lines():
    found = codes("EAJE", eaje(total_charges="864002"))
    c = found["TOTAL-CHARGES"]
    assert c.severite == "bloquant"
    assert "864\u202f002,00 €" in c.message and "864\u202f000,00 €" in c.message and "tolérance 1,00 €" in c.message
    assert "TOTAL-CHARGES" not in codes("EAJE", eaje(total_charges="864001"))   # within the 1 € tolerance
    assert "TOTAL-PRODUITS" in codes("EAJE", eaje(p70="5"))


def test_hours_above_theoretical_capacity():
    # 40 places × 225 jours × 11 h = 99 000 h
    assert "CAPACITE-HEURES" not in codes("EAJE", eaje(heures_realisees="99000", heures_facturees="99000",
                                                       participations_familiales="140000"))
    c = codes("EAJE", eaje(heures_realisees="99001", heures_facturees="99001",
                           participations_familiales="140000"))["CAPACITE-HEURES"]
    assert c.severite == "bloquant" and "99\u202f000 h" in c.message and "40 places × 225 jours × 11 h" in c.message
    assert "CAPACITE-HEURES" in codes("ALSH", alsh(heures_realisees="33601"))   # 80 × 140 × 3 = 33 600


@pytest.mark.parametrize("facturees, expected", [
    (77040, set()),                          # exactly 107 %
    (77041, {"TAUX-FACTURATION-107"}),
    (86400, {"TAUX-FACTURATION-107"}),       # exactly 120 %
    (86401, {"TAUX-FACTURATION-120"}),
])
def test_taux_de_facturation_thresholds(facturees, expected):
    found = codes("EAJE", eaje(heures_facturees=facturees, participations_familiales=facturees * 1.44))
    assert {k for k in found if k.startswith("TAUX-")} == expected
    for code in expected:
        assert found[code].severite == "alerte"


def test_message_states_the_figures_and_threshold():
    c = codes("EAJE", eaje(heures_facturees=90000, participations_familiales=129600))["TAUX-FACTURATION-120"]
    assert "125 %" in c.message and "120 %" in c.message and "plancher" in c.message


def test_billed_hours_below_done_hours():
    c = codes("EAJE", eaje(heures_facturees="70000", participations_familiales="100800"))["HEURES-FACTUREES-INFERIEURES"]
    assert "2\u202f000 h" in c.message
    assert "HEURES-FACTUREES-INFERIEURES" not in codes("EAJE", eaje(heures_facturees="72000",
                                                                    participations_familiales="103680"))


def test_zero_hours_is_an_alert_not_a_crash():
    found = codes("EAJE", eaje(heures_realisees="0", heures_facturees="0", participations_familiales="0"))
    assert "ACTIVITE-NULLE" in found and not any(k.startswith("TAUX-") for k in found)
    assert "ACTIVITE-NULLE" in codes("LAEP", laep(heures_ouverture="0", heures_organisation="0"))


def test_reel_versus_previsionnel_gap():
    # droit réel 295 920 €: 10 % of 269 018 = 26 902 -> gap 10,0003 %
    assert "ECART-REEL-PREVISIONNEL" in codes("EAJE", eaje(), "reel", {"droit_previsionnel": 269018})
    assert "ECART-REEL-PREVISIONNEL" not in codes("EAJE", eaje(), "reel", {"droit_previsionnel": 269020})
    c = codes("EAJE", eaje(), "reel", {"droit_previsionnel": 200000})["ECART-REEL-PREVISIONNEL"]
    assert "+47,96 %" in c.message and "±10 %" in c.message and "200\u202f000,00 €" in c.message
    assert "ECART-REEL-PREVISIONNEL" not in codes("EAJE", eaje(), "previsionnel", {"droit_previsionnel": 200000})


def test_actualise_versus_previsionnel_gap():
    assert "ECART-ACTUALISE-PREVISIONNEL" in codes("RPE", rpe(), "actualise_juin", {"droit_previsionnel": 30000})
    assert "ECART-ACTUALISE-PREVISIONNEL" not in codes("RPE", rpe(), "actualise_juin", {"droit_previsionnel": 43000})


def test_prix_de_revient_variation_from_last_reel():
    # 12 €/h this year; 15 % band around the réel N-1
    assert "VARIATION-PRIX-REVIENT" not in codes("EAJE", eaje(), "reel", {"prix_revient_reel_n1": 10.5})  # +14,3 %
    c = codes("EAJE", eaje(), "reel", {"prix_revient_reel_n1": 10.0, "reel_n1_annee": 2024})["VARIATION-PRIX-REVIENT"]
    assert "+20 %" in c.message and "2024" in c.message and "±15 %" in c.message


def test_hourly_participation_outside_bareme():
    c = codes("EAJE", eaje(participations_familiales="10000"))["PARTICIPATION-HORAIRE"]   # 0,13 €/h
    assert "0,13 €/h" in c.message and "[0,3 € ; 4 €]" in c.message
    assert "PARTICIPATION-HORAIRE" in codes("EAJE", eaje(participations_familiales="310000"))
    assert "PARTICIPATION-HORAIRE" not in codes("EAJE", eaje(participations_familiales="22500"))  # exactly 0,30


def test_surplus_above_15_percent_of_charges():
    assert "EXCEDENT" not in codes("LAEP", laep(p74="69000", total_produits="69000"))   # exactly 15 %
    c = codes("LAEP", laep(p74="69001", total_produits="69001"))["EXCEDENT"]
    assert "9\u202f001,00 €" in c.message and "15 %" in c.message


def test_rpe_ratio():
    assert "RPE-RATIO-ASSMAT" not in codes("RPE", rpe(assistantes_maternelles="140"))      # exactly 70 / ETP
    assert "RPE-RATIO-ASSMAT" in codes("RPE", rpe(assistantes_maternelles="141"))
    assert "aucun ETP" in codes("RPE", rpe(etp_animateur="0"))["RPE-RATIO-ASSMAT"].message


def test_laep_accueillants():
    assert "LAEP-ACCUEILLANTS" not in codes("LAEP", laep(accueillants_par_seance="2"))
    c = codes("LAEP", laep(accueillants_par_seance="1,5"))["LAEP-ACCUEILLANTS"]
    assert c.severite == "alerte" and "1,5" in c.message and "minimum de 2" in c.message


def test_bloquants_come_first_and_justifications_are_required_for_alerts():
    ev = evaluate("EAJE", "reel", eaje(p70="5", heures_facturees="70000",
                                       participations_familiales="100800"), bareme(2025), None)
    assert ev.controles[0].severite == "bloquant"
    assert [c.code for c in ev.missing_justifications({})] == ["HEURES-FACTUREES-INFERIEURES"]
    assert ev.missing_justifications({"HEURES-FACTUREES-INFERIEURES": "  "})
    assert not ev.missing_justifications({"HEURES-FACTUREES-INFERIEURES": "Absences pour maladie."})
