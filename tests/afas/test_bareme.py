import copy
import json

import pytest

from afas.bareme import BaremeError, file_baremes, parse_bareme, validate_bareme


def test_shipped_baremes_are_valid_and_labelled_fictitious():
    baremes = file_baremes()
    assert {2024, 2025, 2026}.issubset(baremes)
    for b in baremes.values():
        assert b.fictif and "FICTIVES" in b.libelle
        assert validate_bareme(b.doc) == []


def test_band_rule_until_2024_linear_rule_from_2025():
    baremes = file_baremes()
    for year in (2023, 2024):
        rule = baremes[year]["eaje"]["taux_facturation"]
        assert rule["regle"] == "tranches"
        assert [t["taux_max"] for t in rule["tranches"]] == [1.07, 1.17, None]
    for year in (2025, 2026, 2027):
        assert baremes[year]["eaje"]["taux_facturation"]["regle"] == "lineaire"
    assert baremes[2025]["eaje"]["taux_facturation"]["seuil_bas"] == 1.07


def _doc():
    return copy.deepcopy(file_baremes()[2025].doc)


@pytest.mark.parametrize("mutate, words", [
    (lambda d: d.pop("annee"), "annee"),
    (lambda d: d["eaje"].update(taux_prise_en_charge="0.66"), "eaje.taux_prise_en_charge : un nombre"),
    (lambda d: d["alsh"].update(prix_plafond_acte=-1), "alsh.prix_plafond_acte"),
    (lambda d: d["eaje"]["taux_facturation"].update(seuil_bas=1.3), "seuil_bas doit être inférieur"),
    (lambda d: d["acomptes"]["echeances"][0].update(part=0.7), "somme des parts"),
    (lambda d: d["campagne"]["reel"]["echeance"].update(jour=31, mois=2), "impossible"),
    (lambda d: d["eaje"]["bonus_mixite_sociale"].reverse(), "croissante"),
    (lambda d: d["eaje"]["taux_facturation"]["prix_plancher_horaire"].update(avec_couches_repas=99), "plancher dépasse"),
])
def test_invalid_baremes_are_refused_with_the_reason(mutate, words):
    doc = _doc()
    mutate(doc)
    with pytest.raises(BaremeError) as exc:
        parse_bareme(json.dumps(doc))
    assert any(words in p for p in exc.value.problems), exc.value.problems


def test_unreadable_json():
    with pytest.raises(BaremeError, match="JSON illisible"):
        parse_bareme("{pas du json")


def test_campaign_windows_from_the_bareme():
    from datetime import date
    b = file_baremes()[2025]
    assert b.window(2025, "previsionnel") == (date(2024, 12, 15), date(2025, 2, 13))
    assert b.window(2025, "reel") == (date(2026, 1, 16), date(2026, 3, 31))
    assert b.window(2025, "actualise_juin") == (date(2025, 6, 15), date(2025, 7, 10))
    assert b.window(2025, "actualise_septembre") == (date(2025, 9, 17), date(2025, 10, 12))


def test_a_barème_revaluing_the_floor_before_2027_is_refused():
    docs = {y: b.doc for y, b in file_baremes().items()}
    revalued = copy.deepcopy(docs[2026])
    revalued["eaje"]["taux_facturation"]["prix_plancher_horaire"]["sans_couches_repas"] = 7.47
    problems = validate_bareme(revalued, {2025: docs[2025]})
    assert len(problems) == 1
    assert "pas revalorisé avant 2027" in problems[0] and "7.29" in problems[0] and "7.47" in problems[0]
    with pytest.raises(BaremeError):
        parse_bareme(json.dumps(revalued), others={2025: docs[2025]})
    assert validate_bareme(docs[2026], {2025: docs[2025]}) == []
    later = copy.deepcopy(docs[2027])   # from 2027 the floor may move
    later["eaje"]["taux_facturation"]["prix_plancher_horaire"]["sans_couches_repas"] = 7.9
    assert validate_bareme(later, docs) == []


@pytest.mark.parametrize("mutate, words", [
    (lambda d: d["eaje"]["taux_facturation"]["tranches"][1].update(taux_max=1.05), "taux croissant"),
    (lambda d: d["eaje"]["taux_facturation"]["tranches"][0].update(taux_max="107"),
     "tranches[0].taux_max : un nombre est attendu"),
    (lambda d: d["eaje"]["taux_facturation"]["tranches"][2].update(taux_max=1.3), "ouverte"),
    (lambda d: d["eaje"]["taux_facturation"]["tranches"][1]["prix_plafond_horaire"].update(avec_couches_repas=9),
     "ne peut pas augmenter"),
    (lambda d: d["eaje"]["taux_facturation"].update(regle="escalier"), "« tranches » ou « lineaire »"),
    (lambda d: d["eaje"]["bonus_inclusion_handicap"]["paliers"][0].update(part_aeeh_min=0.02), "dès le premier enfant"),
    (lambda d: d["eaje"]["bonus_inclusion_handicap"]["paliers"][3].update(montant_par_place=10), "progressif"),
    (lambda d: d["alsh"]["plan_mercredi"].pop("plafond_heures_demi_journee"), "plafond_heures_demi_journee"),
    (lambda d: d["fjt"].update(unite="lits"), "fjt.unite : champ de déclaration inconnu"),
    (lambda d: d["psj"].update(formule="forfait"), "psj.formule"),
])
def test_rule_sections_are_checked(mutate, words):
    doc = copy.deepcopy(file_baremes()[2024].doc)
    mutate(doc)
    assert any(words in p for p in validate_bareme(doc)), validate_bareme(doc)
