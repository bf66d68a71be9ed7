import pytest

from afas.validation import parse_declaration

from .helpers import eaje, rpe


def test_clean_eaje_parses_to_numbers():
    result = parse_declaration("EAJE", eaje(heures_realisees="72 000,5", participations_familiales="108 000 €"))
    assert result.errors == {}
    assert result.values["heures_realisees"] == 72000.5
    assert result.values["participations_familiales"] == 108000.0
    assert result.values["places_agreees"] == 40
    assert result.values["couches_repas"] is True


@pytest.mark.parametrize("raw, kind, words", [
    ("abc", "invalide", "Saisissez un nombre"),
    ("12,3,4", "invalide", "Saisissez un nombre"),
    ("-5", "negatif", "négative"),
    ("1e9", "invalide", "Saisissez un nombre"),
    ("99999999999", "trop_grand", "trop grande"),
    ("x" * 200, "trop_grand", "trop longue"),
])
def test_bad_numbers_get_a_french_message(raw, kind, words):
    result = parse_declaration("EAJE", eaje(heures_realisees=raw))
    error = result.errors["heures_realisees"]
    assert error.kind == kind and words in error.message
    assert result.values["heures_realisees"] is None


def test_whole_numbers_and_bounds():
    result = parse_declaration("EAJE", eaje(places_agreees="12,5", jours_ouverture="367", taux_regime_general="100,1"))
    assert "entier" in result.errors["places_agreees"].message
    assert "366" in result.errors["jours_ouverture"].message
    assert result.errors["taux_regime_general"].kind == "trop_grand"


def test_exact_bounds_are_accepted():
    result = parse_declaration("EAJE", eaje(jours_ouverture="366", taux_regime_general="100", amplitude_horaire="24"))
    assert result.errors == {}


def test_inconsistent_values_are_field_errors():
    result = parse_declaration("EAJE", eaje(enfants_aeeh="90", enfants_inscrits="85"))
    assert result.errors["enfants_aeeh"].kind == "incoherent"
    assert "90" in result.errors["enfants_aeeh"].message and "85" in result.errors["enfants_aeeh"].message


def test_json_types_from_the_api():
    data = eaje()
    data.update(heures_realisees=72000, participations_familiales=108000.25, couches_repas=False)
    result = parse_declaration("EAJE", data)
    assert result.errors == {}
    assert result.values["couches_repas"] is False
    bad = parse_declaration("EAJE", {**data, "heures_realisees": True, "places_agreees": float("nan")})
    assert set(bad.errors) >= {"heures_realisees", "places_agreees"}


def test_empty_is_missing_not_an_error():
    result = parse_declaration("RPE", rpe(etp_animateur=""))
    assert "etp_animateur" not in result.errors
    assert [f.key for f in result.missing(__import__("afas.schema").schema.fields_for("RPE"))] == ["etp_animateur"]


def test_boolean_words():
    assert parse_declaration("RPE", rpe(missions_renforcees="oui")).values["missions_renforcees"] is True
    assert parse_declaration("RPE", rpe(missions_renforcees="peut-être")).errors["missions_renforcees"].kind == "invalide"
