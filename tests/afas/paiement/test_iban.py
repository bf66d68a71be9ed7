"""IBAN/BIC checks (ISO 13616 mod 97, ISO 9362) and masking: pure functions (#21)."""
import pytest

from afas.paiement.iban import bic_error, groups, iban_error, mask, mod97_ok, normalise

VALID_FR = "FR7630006000011234567890189"


def test_a_valid_french_iban_passes_and_spaces_and_lowercase_are_normalised():
    assert iban_error(VALID_FR) is None
    typed = " fr76 3000 6000 0112 3456 7890 189 "
    assert normalise(typed) == VALID_FR and iban_error(typed) is None
    assert normalise("FR76-3000-6000-0112-3456-7890-189") == VALID_FR
    assert iban_error("DE89 3704 0044 0532 0130 00") is None and iban_error("BE68539007547034") is None


@pytest.mark.parametrize(("raw", "expected"), [
    ("FR7630006000011234567890188", "la clé de contrôle ne correspond pas"),   # last digit changed
    ("FR7730006000011234567890189", "la clé de contrôle ne correspond pas"),   # check digits changed
    ("FR76300060000112345678901890", "un IBAN FR compte 27 caractères (28 saisis)"),
    ("FR76300060000112345678901891234567", "un IBAN FR compte 27 caractères (34 saisis)"),
    ("FR7630006000011234567890189123456789", "34 caractères au plus (36 saisis)"),
    ("", "à renseigner"),
    ("7630006000011234567890189", "deux lettres (le pays)"),
    ("FR76 3000 6000 0112 3456 7890 18é", "deux lettres (le pays)"),
    ("US12345678901234", "n'est pas dans la zone SEPA"),
])
def test_bad_ibans_get_a_french_message(raw, expected):
    error = iban_error(raw)
    assert error is not None and error.startswith("IBAN : ") and expected in error


def test_mod97_is_the_iso_13616_check():
    assert mod97_ok("GB82WEST12345698765432") and not mod97_ok("GB82WEST12345698765433")


def test_bic_is_optional_and_checked():
    assert bic_error("") is None and bic_error(None) is None
    assert bic_error("agrifrpp") is None and bic_error("AGRIFRPPXXX") is None
    assert "8 ou 11 caractères" in bic_error("AGRIFRP")
    assert bic_error("AGRI12PP") is not None   # the country is two letters


def test_the_iban_is_masked_except_for_country_key_and_last_four():
    assert mask(VALID_FR) == "FR76 •••• 0189" and mask(None) == ""
    assert "3000" not in mask(VALID_FR)
    assert groups(VALID_FR) == "FR76 3000 6000 0112 3456 7890 189"
