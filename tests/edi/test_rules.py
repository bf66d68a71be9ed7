"""Pure EDI business rules (no app, no database)."""
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings, strategies as st

from edi import rules
from edi.formats import RecordColumns

TODAY = date(2026, 11, 23)
TENANCY = {"loyer_cents": 50000, "charges_cents": 8000, "tiers_payant": True,
           "aide_mensuelle_cents": 25000, "date_entree": date(2020, 1, 1), "date_sortie": None}


def codes(anomalies):
    return [a.code for a in anomalies]


# ------------------------------------------------------------ R824-1

def test_threshold_is_twice_rent_and_charges_net_of_aid_in_tiers_payant():
    assert rules.seuil_impaye(58000, 25000, tiers_payant=True) == 66000
    assert rules.seuil_impaye(58000, 25000, tiers_payant=False) == 116000


@pytest.mark.parametrize("dette, tiers, expected", [
    (66000, True, True), (65999, True, False), (116000, False, True), (115999, False, False)])
def test_impaye_constitue_at_exactly_the_threshold(dette, tiers, expected):
    assert rules.impaye_constitue(dette, 58000, 25000, tiers) is expected


def test_aid_larger_than_rent_never_constitutes_an_impaye():
    assert rules.seuil_impaye(30000, 40000, True) == 0
    assert not rules.impaye_constitue(100, 30000, 40000, True)


# ------------------------------------------------------------ R824-4

@pytest.mark.parametrize("constitution, signalement, late", [
    (date(2026, 9, 23), date(2026, 11, 23), False),   # exactly two months
    (date(2026, 9, 22), date(2026, 11, 23), True),
    (date(2025, 12, 31), date(2026, 2, 28), False),   # end of month clamps
    (date(2025, 12, 31), date(2026, 3, 1), True)])
def test_late_report_after_two_months(constitution, signalement, late):
    assert rules.signalement_tardif(constitution, signalement) is late


# ------------------------------------------------------------ records

def impaye(**over):
    rec = {"identifiant": "I1", "code_locataire": "LOC1", "numero_allocataire": "1234567",
           "montant_dette_cents": 70000, "loyer_mensuel_cents": 58000,
           "date_constitution": date(2026, 10, 1), "periode_debut": date(2026, 8, 1),
           "periode_fin": date(2026, 10, 31), "plan_apurement": False}
    rec.update(over)
    return rec


def test_constituted_impaye_reported_in_time_is_accepted():
    assert rules.check_impaye(impaye(), TENANCY, TODAY) == []


def test_impaye_below_threshold_is_rejected_with_the_threshold_in_the_label():
    [a] = rules.check_impaye(impaye(montant_dette_cents=60000), TENANCY, TODAY)
    assert a.code == "IMPAYE_NON_CONSTITUE" and a.severite == rules.ERREUR
    assert "660,00 €" in a.libelle and "tiers payant" in a.libelle


def test_late_impaye_is_accepted_with_a_warning():
    anomalies = rules.check_impaye(impaye(date_constitution=date(2026, 8, 15)), TENANCY, TODAY)
    assert codes(anomalies) == ["IMPAYE_SIGNALE_TARDIVEMENT"]
    accepted, code, _label, severite = rules.summarise(anomalies)
    assert accepted and code == "IMPAYE_SIGNALE_TARDIVEMENT" and severite == rules.AVERTISSEMENT


def test_impaye_of_unknown_tenant_and_implausible_dates_lists_every_error():
    anomalies = rules.check_impaye(impaye(date_constitution=date(2027, 1, 1),
                                          periode_debut=date(2026, 9, 1), periode_fin=date(2026, 8, 1)),
                                   None, TODAY)
    assert codes(anomalies) == ["LOCATAIRE_INCONNU", "DATE_INVRAISEMBLABLE", "PERIODE_INCOHERENTE"]
    accepted, code, label, _ = rules.summarise(anomalies)
    assert not accepted and code == "LOCATAIRE_INCONNU"
    assert "PÉRIODE" not in label and label.count(" ; ") == 2  # every reason kept, none truncated


def test_declared_rent_different_from_known_rent_is_a_warning():
    anomalies = rules.check_impaye(impaye(loyer_mensuel_cents=60000, montant_dette_cents=80000),
                                   TENANCY, TODAY)
    assert codes(anomalies) == ["LOYER_DIFFERENT"]


def loyer(**over):
    rec = {"identifiant": "L1", "code_locataire": "LOC1", "numero_allocataire": "1234567",
           "loyer_cents": 52000, "charges_cents": 8000, "date_effet": date(2026, 7, 1),
           "nb_colocataires": 1}
    rec.update(over)
    return rec


def test_plausible_rent_is_accepted():
    assert rules.check_loyer(loyer(), TENANCY, TODAY) == []


@pytest.mark.parametrize("over, code", [
    ({"loyer_cents": 0}, "MONTANT_INVRAISEMBLABLE"),
    ({"loyer_cents": 500_001}, "MONTANT_INVRAISEMBLABLE"),
    ({"charges_cents": 200_001}, "MONTANT_INVRAISEMBLABLE"),
    ({"date_effet": date(1999, 12, 31)}, "DATE_INVRAISEMBLABLE"),
    ({"date_effet": date(2028, 1, 1)}, "DATE_INVRAISEMBLABLE"),
    ({"nb_colocataires": 21}, "COLOCATAIRES_INVRAISEMBLABLE")])
def test_implausible_rent_records(over, code):
    assert codes(rules.check_loyer(loyer(**over), TENANCY, TODAY)) == [code]


def test_rent_for_someone_not_tenant_of_this_landlord():
    assert codes(rules.check_loyer(loyer(), None, TODAY)) == ["LOCATAIRE_INCONNU"]


def test_exit_before_entry_is_incoherent():
    rec = {"code_locataire": "LOC1", "numero_allocataire": "1234567", "type": "SORTIE",
           "date_mouvement": date(2019, 6, 30)}
    assert codes(rules.check_mouvement(rec, TENANCY, TODAY)) == ["MOUVEMENT_INCOHERENT"]


# ------------------------------------------------------------ envelope

RECEIVED = datetime(2026, 11, 23, 10, 0)


def env(**over):
    e = {"emetteur": "BL080001", "emetteur_siren": "381568394", "destinataire": "CAF80",
         "date_creation": datetime(2026, 11, 23, 9, 0), "numero_sequence": 4}
    e.update(over)
    return e


def test_envelope_ok():
    assert rules.check_envelope(env(), code_bailleur="BL080001", siren="381568394",
                                received_at=RECEIVED, derniere_sequence=3) == []


@pytest.mark.parametrize("over, last, code", [
    ({"emetteur": "BL999999"}, 3, "EMETTEUR_INCORRECT"),
    ({"emetteur_siren": "111111111"}, 3, "EMETTEUR_INCORRECT"),
    ({"date_creation": datetime(2026, 11, 23, 10, 11)}, 3, "DATE_CREATION_FUTURE"),
    ({"date_creation": datetime(2026, 10, 22, 9, 59)}, 3, "DATE_CREATION_ANCIENNE"),
    ({"numero_sequence": 3}, 3, "SEQUENCE_INCORRECTE"),
    ({"numero_sequence": 6}, 3, "SEQUENCE_NON_CONSECUTIVE")])
def test_envelope_rules(over, last, code):
    problems = rules.check_envelope(env(**over), code_bailleur="BL080001", siren="381568394",
                                    received_at=RECEIVED, derniere_sequence=last)
    assert codes(problems) == [code]


@pytest.mark.parametrize("over", [{"destinataire": "CAF02"}, {"destinataire_siren": "999999999"}])
def test_the_receiver_must_be_the_caf_by_code_and_by_siren(over):
    problems = rules.check_envelope(env(**{"destinataire_siren": "534889877", **over}), code_bailleur="BL080001",
                                    siren="381568394", received_at=RECEIVED, derniere_sequence=3,
                                    receveur_attendu="CAF80", receveur_siren_attendu="534889877")
    assert codes(problems) == ["DESTINATAIRE_INCORRECT"]


def test_record_count_mismatch():
    assert codes(rules.check_record_count(10, 9)) == ["NOMBRE_ENREGISTREMENTS_INCORRECT"]
    assert rules.check_record_count(10, 10) == []


def test_file_outcome():
    assert rules.file_outcome(3, 3, 0) == "TRAITE"
    assert rules.file_outcome(3, 1, 2) == "TRAITE_PARTIEL"
    assert rules.file_outcome(3, 0, 3) == "REJETE"
    assert rules.file_outcome(0, 0, 0) == "REJETE"


def test_every_code_fits_the_accuse_schema():
    import re
    for code, (severite, libelle) in rules.CODES.items():
        assert re.fullmatch(r"[A-Z][A-Z0-9_]{1,59}", code)
        assert severite in (rules.ERREUR, rules.AVERTISSEMENT, rules.INFO) and libelle


@pytest.mark.parametrize("over", [
    {}, {"loyer_cents": 1}, {"loyer_cents": rules.LOYER_MAX_CENTS}, {"charges_cents": 0},
    {"charges_cents": rules.CHARGES_MAX_CENTS}, {"date_effet": rules.MIN_DATE},
    {"date_effet": date(2027, 11, 24)}, {"nb_colocataires": None}, {"nb_colocataires": 20},
    {"loyer_cents": 0}, {"loyer_cents": rules.LOYER_MAX_CENTS + 1}, {"charges_cents": -1},
    {"charges_cents": None}, {"date_effet": date(1999, 12, 31)}, {"date_effet": date(2027, 11, 25)},
    {"date_effet": None}, {"nb_colocataires": 0}, {"nb_colocataires": 21}])
def test_check_loyer_fast_path_agrees_with_the_detailed_checks(over):
    """The fast path (everything plausible) must answer exactly what the detailed checks do."""
    rec = {"code_locataire": "LOC1", "numero_allocataire": "1000001", "loyer_cents": 52000,
           "charges_cents": 8000, "date_effet": date(2026, 7, 1), "nb_colocataires": 1, **over}
    detailed = []
    if not (rec["loyer_cents"] is not None and 1 <= rec["loyer_cents"] <= rules.LOYER_MAX_CENTS):
        detailed.append("MONTANT_INVRAISEMBLABLE")
    if not (rec["charges_cents"] is not None and 0 <= rec["charges_cents"] <= rules.CHARGES_MAX_CENTS):
        detailed.append("MONTANT_INVRAISEMBLABLE")
    if not (rec["date_effet"] is not None and rules.MIN_DATE <= rec["date_effet"] <= date(2027, 11, 24)):
        detailed.append("DATE_INVRAISEMBLABLE")
    if rec["nb_colocataires"] is not None and not 1 <= rec["nb_colocataires"] <= 20:
        detailed.append("COLOCATAIRES_INVRAISEMBLABLE")
    assert codes(rules.check_loyer(rec, {}, TODAY)) == detailed
    assert codes(rules.check_loyer(rec, None, TODAY)) == ["LOCATAIRE_INCONNU", *detailed]
    assert rules.summarise([])[0] is True



def test_an_entry_stating_a_zero_rent_is_implausible():
    rec = {"code_locataire": "LOC1", "numero_allocataire": "1234567", "type": "ENTREE",
           "date_mouvement": date(2026, 11, 1), "loyer_cents": 0, "charges_cents": 0}
    left = dict(TENANCY, date_sortie=date(2025, 6, 30))
    assert codes(rules.check_mouvement(rec, left, TODAY)) == ["MONTANT_INVRAISEMBLABLE"]


def test_an_entry_only_names_a_tenancy_the_caf_knows():
    """A landlord cannot make someone its tenant by declaring an entry (that would open the
    person's CDAP file to it); and the answer does not say whether the numéro exists."""
    rec = {"code_locataire": "LOC9", "numero_allocataire": "1234567", "type": "ENTREE",
           "date_mouvement": date(2026, 11, 1)}
    assert codes(rules.check_mouvement(rec, None, TODAY)) == ["LOCATAIRE_INCONNU"]
    left = dict(TENANCY, date_entree=date(2020, 1, 1), date_sortie=date(2025, 6, 30))
    assert codes(rules.check_mouvement(rec, left, TODAY)) == []  # back in a dwelling it left


# -- the bulk check of a block of LOYERS records --------------------------------------------

BLOCK_DAY = date(2026, 12, 2)
# Each field within its bounds, at a bound, or just past one (or absent).
_EDGES = {
    "loyer_cents": [52000, 1, rules.LOYER_MAX_CENTS, 0, rules.LOYER_MAX_CENTS + 1, None],
    "charges_cents": [8000, 0, rules.CHARGES_MAX_CENTS, -1, rules.CHARGES_MAX_CENTS + 1, None],
    "date_effet": [date(2026, 7, 1), rules.MIN_DATE, rules._max_date(BLOCK_DAY), date(1999, 12, 31),
                   rules._max_date(BLOCK_DAY) + timedelta(days=1), None],
    "nb_colocataires": [1, rules.COLOCATAIRES_MAX, None, 0, rules.COLOCATAIRES_MAX + 1],
}
_PLAUSIBLE = {key: values[0] for key, values in _EDGES.items()}
# A record plausible but for (at most) one field at an edge.
_record = st.sampled_from(sorted(_EDGES)).flatmap(
    lambda key: st.sampled_from(_EDGES[key]).map(lambda value: {**_PLAUSIBLE, key: value}))


@settings(max_examples=300, deadline=None)
@given(st.lists(_record, max_size=6))
def test_a_block_is_plausible_exactly_when_each_of_its_records_is(records):
    keys = ("identifiant", "loyer_cents", "charges_cents", "date_effet", "nb_colocataires", "ligne")
    rows = [{"identifiant": f"L{i}", **r, "ligne": i + 2} for i, r in enumerate(records)]
    block = RecordColumns(keys, [[row[k] for row in rows] for k in keys])
    expected = all(rules.check_loyer(row, rules.TENANCY_UNCHECKED, BLOCK_DAY) == [] for row in rows)
    assert rules.loyers_plausible(block, BLOCK_DAY) is expected
