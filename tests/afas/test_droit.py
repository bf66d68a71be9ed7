"""One test per formula of docs/domaine.md §2, with the edges (thresholds, zero hours, 107/120 % band)."""
from datetime import date

import pytest

from afas.droit import compute_droit, eaje_plafond, regularisation, schedule_acomptes
from afas.validation import parse_declaration

from .helpers import alsh, bareme, eaje, laep, rpe


def droit(kind, data, annee=2025):
    return compute_droit(kind, parse_declaration(kind, data).values, bareme(annee))


def test_eaje_psu_formula_by_hand():
    # prix de revient 864 000 / 72 000 = 12 €/h > plafond 8,50 (couches et repas) ;
    # taux de facturation 75 000 / 72 000 = 104,2 % <= 107 % -> plafond plein.
    result = droit("EAJE", eaje())
    assert result.montant == pytest.approx(0.66 * 8.50 * 72000 - 108000)  # 295 920
    assert result.montant == 295920.00
    labels = [s.label for s in result.etapes]
    assert labels[0] == "Prix de revient horaire" and labels[-1] == "Droit"
    assert "295\u202f920,00 €" in result.etapes[-1].value
    assert "66 % × 8,5 €/h × 72\u202f000 h" in result.etapes[4].detail


def test_eaje_without_couches_repas_uses_the_lower_plafond():
    result = droit("EAJE", eaje(couches_repas=""))
    assert result.montant == round(0.66 * 8.10 * 72000 - 108000, 2)


def test_eaje_taux_regime_general_applies():
    assert droit("EAJE", eaje(taux_regime_general="50")).montant == round((0.66 * 8.5 * 72000 - 108000) * 0.5, 2)


def test_eaje_prix_de_revient_below_plafond():
    result = droit("EAJE", eaje(c64="504000", total_charges="504000"))  # 7 €/h
    assert result.montant == round(0.66 * 7 * 72000 - 108000, 2)


@pytest.mark.parametrize("facturees, plafond", [
    (72000, 8.50),            # 100 %
    (77040, 8.50),            # exactly 107 %: still constant
    (81720, 8.50 - 0.85 * 0.5),  # 113,5 %: halfway between 8,50 and the 7,65 floor
    (86400, 7.65),            # exactly 120 %: the floor
    (100000, 7.65),           # 138,9 %: the floor
])
def test_2025_taux_de_facturation_band(facturees, plafond):
    tf = facturees / 72000
    value, _ = eaje_plafond(bareme(2025), True, tf)
    assert value == pytest.approx(plafond)
    result = droit("EAJE", eaje(heures_facturees=facturees, participations_familiales=facturees * 1.44))
    assert result.indicateurs["prix_plafond_horaire"] == pytest.approx(plafond, abs=1e-4)


def test_just_above_107_percent_lowers_the_plafond():
    value, why = eaje_plafond(bareme(2025), True, 1.0701)
    assert value < 8.50 and "entre 107 % et 120 %" in why


def test_before_2025_the_plafond_is_the_band_of_the_taux():
    assert eaje_plafond(bareme(2024), True, 1.00)[0] == 8.30
    assert eaje_plafond(bareme(2024), True, 1.30)[0] == 7.75   # > 117 %: the last band


def test_eaje_zero_hours_gives_zero():
    result = droit("EAJE", eaje(heures_realisees="0", heures_facturees="0"))
    assert result.montant == 0.0
    assert result.indicateurs["taux_facturation"] is None


def test_eaje_participations_above_base_floor_at_zero():
    result = droit("EAJE", eaje(participations_familiales="500000", heures_facturees="72000"))
    assert result.montant == 0.0
    assert "ramené à 0" in result.etapes[4].detail


@pytest.mark.parametrize("participations, per_place", [
    (50000, 2100),   # 0,667 €/h
    (56250, 2100),   # exactly 0,75 €/h
    (56251, 800),    # just above 0,75
    (75000, 800),    # exactly 1 €/h
    (93750, 300),    # exactly 1,25 €/h
    (93760, 0),      # above 1,25
])
def test_bonus_mixite_sociale_tiers(participations, per_place):
    result = droit("EAJE", eaje(participations_familiales=participations))
    psu = max(0, 0.66 * 8.5 * 72000 - participations)
    assert result.montant == pytest.approx(psu + per_place * 40, abs=0.01)


def test_alsh_formula():
    assert droit("ALSH", alsh()).montant == round(0.30 * 5.80 * 30000, 2)          # 7 €/acte > 5,80
    assert droit("ALSH", alsh(c64="150000", total_charges="150000")).montant == 45000.0  # 5 €/acte
    assert droit("ALSH", alsh(taux_regime_general="80")).montant == round(0.30 * 5.80 * 30000 * 0.8, 2)
    assert droit("ALSH", alsh(heures_realisees="0")).montant == 0.0


def test_rpe_formula():
    assert droit("RPE", rpe()).montant == 43000.0                            # 0,43 × 100 000
    assert droit("RPE", rpe(missions_renforcees="oui")).montant == 43000.0 + 3229
    assert droit("RPE", rpe(c64="150000", total_charges="150000")).montant == round(0.43 * 55000 * 2, 2)
    assert droit("RPE", rpe(etp_animateur="0")).montant == 0.0


def test_laep_formula():
    assert droit("LAEP", laep()).montant == round(0.30 * 90 * 500, 2)        # 120 €/h > 90
    assert droit("LAEP", laep(c64="30000", total_charges="30000")).montant == 9000.0
    assert droit("LAEP", laep(heures_ouverture="0", heures_organisation="0")).montant == 0.0


def test_missing_inputs_give_no_amount_but_say_what_is_missing():
    result = droit("ALSH", alsh(heures_realisees=""))
    assert result.montant is None
    assert result.manquants == ["Heures réalisées (actes)"]


JANUARY, JULY, NOVEMBER = date(2025, 1, 20), date(2025, 7, 10), date(2025, 11, 12)


def test_acomptes_70_percent_in_two_instalments():
    echeances = schedule_acomptes(295920.00, 2025, bareme(2025), on=JANUARY)
    assert [e.montant for e in echeances] == [103572.00, 103572.00]
    assert [e.date_prevue for e in echeances] == [date(2025, 3, 1), date(2025, 10, 2)]


def test_acomptes_cents_are_not_lost():
    echeances = schedule_acomptes(100.01, 2025, bareme(2025), on=JANUARY)
    assert round(sum(e.montant for e in echeances), 2) == 70.01


def test_acomptes_after_partial_payment():
    echeances = schedule_acomptes(300000, 2025, bareme(2025), deja_verse=100000, on=JANUARY)
    assert round(sum(e.montant for e in echeances), 2) == 110000.00


def plan(echeances):
    return [(e.numero, e.date_prevue, e.montant) for e in echeances]


def test_acomptes_before_1_march_keep_the_two_fixed_instalments():
    for on in (date(2024, 12, 20), JANUARY, date(2025, 2, 28)):
        assert plan(schedule_acomptes(300000, 2025, bareme(2025), on=on)) == [
            (1, date(2025, 3, 1), 105000.00), (2, date(2025, 10, 2), 105000.00)]


def test_acomptes_rebased_after_an_increased_actualise():
    # Droit 300 000 € → 105 000 € paid on 1 March; actualisé in July at 360 000 €: 35 % of it
    # (126 000 €) should have been paid by now → 21 000 € today, then 126 000 € on 2 October.
    echeances = schedule_acomptes(360000, 2025, bareme(2025), deja_verse=105000, on=JULY)
    assert plan(echeances) == [(1, JULY, 21000.00), (2, date(2025, 10, 2), 126000.00)]
    assert round(105000 + sum(e.montant for e in echeances), 2) == 252000.00   # 70 % of 360 000


def test_acomptes_rebased_after_a_decreased_actualise():
    # 240 000 €: 84 000 € were due by now, 105 000 € paid → no catch-up; the 21 000 € paid too
    # much come off the October instalment (84 000 − 21 000).
    echeances = schedule_acomptes(240000, 2025, bareme(2025), deja_verse=105000, on=JULY)
    assert plan(echeances) == [(1, date(2025, 10, 2), 63000.00)]
    assert round(105000 + sum(e.montant for e in echeances), 2) == 168000.00   # 70 % of 240 000


def test_acomptes_on_the_day_of_an_instalment_pay_it_that_day():
    echeances = schedule_acomptes(300000, 2025, bareme(2025), on=date(2025, 3, 1))
    assert plan(echeances) == [(1, date(2025, 3, 1), 105000.00), (2, date(2025, 10, 2), 105000.00)]


def test_late_previsionnel_catches_up_on_its_validation_day():
    echeances = schedule_acomptes(300000, 2025, bareme(2025), on=date(2025, 4, 15))
    assert plan(echeances) == [(1, date(2025, 4, 15), 105000.00), (2, date(2025, 10, 2), 105000.00)]


def test_acomptes_after_2_october_are_one_instalment_on_the_day():
    echeances = schedule_acomptes(360000, 2025, bareme(2025), deja_verse=210000, on=NOVEMBER)
    assert plan(echeances) == [(1, NOVEMBER, 42000.00)]
    assert plan(schedule_acomptes(300000, 2025, bareme(2025), on=NOVEMBER)) == [(1, NOVEMBER, 210000.00)]
    later = date(2026, 5, 4)   # validated after the exercice: still never dated before the day
    assert plan(schedule_acomptes(300000, 2025, bareme(2025), deja_verse=105000, on=later)) == [(1, later, 105000.00)]


def test_overpaid_acomptes_schedule_nothing():
    for on in (JANUARY, JULY, NOVEMBER):
        assert schedule_acomptes(240000, 2025, bareme(2025), deja_verse=210000, on=on) == []
        assert schedule_acomptes(0, 2025, bareme(2025), deja_verse=105000, on=on) == []
    assert schedule_acomptes(0, 2025, bareme(2025), on=JANUARY) == []


def test_rebased_acomptes_are_exact_to_the_cent():
    # 70 % of 123 456,79 € = 86 419,753 → 86 419,75 €; the cents go to the last instalment.
    for on in (JANUARY, JULY, NOVEMBER):
        for paid in (0, 0.01, 20000.33, 43209.87, 43209.88, 86419.74):
            echeances = schedule_acomptes(123456.79, 2025, bareme(2025), deja_verse=paid, on=on)
            assert all(e.montant > 0 and e.montant == round(e.montant, 2) for e in echeances)
            assert all(e.date_prevue >= on for e in echeances)
            assert round(paid + sum(e.montant for e in echeances), 2) == 86419.75
            assert [e.numero for e in echeances] == list(range(1, len(echeances) + 1))


def test_regularisation_both_ways():
    assert regularisation(300000, 207144)["solde"] == 92856.0
    assert regularisation(300000, 207144)["sens"] == "versement"
    indu = regularisation(200000, 207144)
    assert indu["solde"] == -7144.0 and indu["sens"] == "indu"
    assert regularisation(0, 0)["sens"] == "solde nul"


def test_missing_year_uses_the_previous_barème_and_says_so():
    result = droit("RPE", rpe(), annee=2031)
    assert "2027" in result.bareme and "2031" in result.bareme
