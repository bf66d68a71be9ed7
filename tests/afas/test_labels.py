"""The label of a field is its équipement type's, everywhere: an EAJE's heures_realisees are
« Heures réalisées » in messages, diffs, missing inputs and export headers; only an ALSH's are
counted in actes (issue 19)."""
from afas import exports
from afas.controles import evaluate
from afas.droit import compute_droit
from afas.schema import labels_for
from afas.services import diff_data
from afas.validation import parse_declaration

from .helpers import alsh, bareme, eaje


def _messages(kind, data) -> str:
    return " ".join(c.message for c in evaluate(kind, "previsionnel", data, bareme(2025)).controles)


def test_eaje_messages_use_the_eaje_label():
    said = _messages("EAJE", eaje(heures_realisees="beaucoup"))
    assert "Heures réalisées : Saisissez un nombre" in said and "actes" not in said
    assert "Heures réalisées," in _messages("EAJE", eaje(heures_realisees="", heures_facturees="")) + ","
    missing = compute_droit("EAJE", parse_declaration("EAJE", eaje(heures_realisees="")).values, bareme(2025))
    assert missing.manquants == ["Heures réalisées"]
    assert diff_data("EAJE", eaje(), eaje(heures_realisees="70000"))[0]["libelle"] == "Heures réalisées"


def test_alsh_keeps_its_actes():
    assert "Heures réalisées (actes) : Saisissez" in _messages("ALSH", alsh(heures_realisees="x"))
    assert labels_for("ALSH")["heures_realisees"] == "Heures réalisées (actes)"


def test_export_header_is_the_eaje_label():
    assert dict(exports.columns())["champ_heures_realisees"] == "Heures réalisées"
