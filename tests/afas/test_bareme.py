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


def test_2025_rule_present_from_2025_only():
    baremes = file_baremes()
    assert baremes[2024]["eaje"]["taux_facturation"] is None
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
