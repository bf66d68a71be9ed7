"""One rule module for both channels (edi.declaration_rules): a record read from an EDI file and
the same declaration typed in the web form get the same anomalies; deadlines count on the Paris
calendar. Pure (no app, no database), except the last test, which runs a file through the
pipeline to show the intake takes its reporting day on the Paris calendar."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from edi import declaration_rules as dr
from edi.declarations import forms
from edi.formats import reader

from tests.support.edi_files import build_xml

TODAY = date(2026, 11, 23)
ORG = SimpleNamespace(code_bailleur="BL000001", siret="12345678900011")
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.function_scoped_fixture])

days = st.dates(min_value=date(2024, 1, 1), max_value=TODAY)
cents = st.integers(min_value=0, max_value=600_000)
tenancies = st.fixed_dictionaries({
    "loyer_cents": st.integers(min_value=20_000, max_value=150_000),
    "charges_cents": st.integers(min_value=0, max_value=30_000),
    "tiers_payant": st.booleans(),
    "aide_mensuelle_cents": st.integers(min_value=0, max_value=60_000),
    "date_entree": st.just(date(2020, 1, 1)), "date_sortie": st.none()})


def euros_text(c: int) -> str:
    return f"{c // 100},{c % 100:02d}"


def edi_record(flux: str, rec: dict, tmp_path) -> dict:
    """The record as the EDI reader extracts it from a schema-valid file."""
    path = tmp_path / "f.xml"
    path.write_bytes(build_xml(flux, ORG, [{"identifiant": "R1", **rec}]))
    items = list(reader.stream(path, flux))
    [record] = [i for i in items if isinstance(i, dict)]
    return record


def outcome(anomalies):
    return [(a.code, a.severite, a.libelle) for a in anomalies]


@SETTINGS
@given(loyer=st.integers(min_value=1, max_value=400_000), charges=st.integers(min_value=0, max_value=100_000),
       dette=cents, debut=days, fin=days, constitution=days, plan=st.booleans(), tenancy=tenancies)
def test_an_unpaid_rent_gets_the_same_anomalies_by_file_and_by_form(
        tmp_path_factory, loyer, charges, dette, debut, fin, constitution, plan, tenancy):
    tmp = tmp_path_factory.mktemp("impayes")
    by_file = edi_record("IMPAYES", {
        "code_locataire": "LOC000001", "numero_allocataire": "7100001", "montant_dette_cents": dette or 1,
        "loyer_mensuel_cents": loyer + charges, "date_constitution": constitution, "periode_debut": debut,
        "periode_fin": fin, "plan_apurement": plan}, tmp)
    typed = forms.parse("IMPAYE", {
        "nom": "Martin", "numero_allocataire": "7100001", "code_locataire": "LOC000001", "adresse": "1 rue X",
        "loyer": euros_text(loyer), "charges": euros_text(charges), "dette": euros_text(dette or 1),
        "periode_debut": debut.isoformat(), "periode_fin": fin.isoformat(),
        "date_constitution": constitution.isoformat(), "nb_relances": "1", "plan_apurement": "oui" if plan else "non"})
    assert typed.errors == {}
    for tenant in (tenancy, None):
        assert outcome(dr.check_impaye(typed.record, tenant, TODAY)) == \
            outcome(dr.check_impaye(by_file, tenant, TODAY))


@SETTINGS
@given(kind=st.sampled_from(["ENTREE", "SORTIE"]), day=st.dates(min_value=date(2019, 1, 1), max_value=date(2027, 12, 31)),
       loyer=st.integers(min_value=1, max_value=600_000), exit_known=st.none() | days)
def test_a_movement_gets_the_same_anomalies_by_file_and_by_form(tmp_path_factory, kind, day, loyer, exit_known):
    tmp = tmp_path_factory.mktemp("mvt")
    rec = {"code_locataire": "LOC000001", "numero_allocataire": "7100001", "type": kind, "date_mouvement": day}
    if kind == "ENTREE":
        rec.update(loyer_cents=loyer, charges_cents=5000)
    by_file = edi_record("MOUVEMENTS", rec, tmp)
    typed = forms.parse("MOUVEMENT", {"nom": "Martin", "numero_allocataire": "7100001", "code_locataire": "LOC000001",
                                      "type": kind, "date_mouvement": day.isoformat(),
                                      "loyer": euros_text(loyer) if kind == "ENTREE" else "",
                                      "charges": "50" if kind == "ENTREE" else ""})
    assert typed.errors == {}
    tenancy = {"date_entree": date(2020, 1, 1), "date_sortie": exit_known, "tiers_payant": True,
               "loyer_cents": 50000, "charges_cents": 5000}
    assert outcome(dr.check_mouvement(typed.record, tenancy, TODAY)) == \
        outcome(dr.check_mouvement(by_file, tenancy, TODAY))


@SETTINGS
@given(loyer=st.integers(min_value=0, max_value=600_000), charges=st.integers(min_value=0, max_value=300_000),
       effet=st.dates(min_value=date(1999, 1, 1), max_value=date(2028, 1, 1)))
def test_a_rent_update_gets_the_same_anomalies_by_file_and_by_form(tmp_path_factory, loyer, charges, effet):
    tmp = tmp_path_factory.mktemp("loyers")
    by_file = edi_record("LOYERS", {"code_locataire": "LOC000001", "numero_allocataire": "7100001",
                                    "loyer_cents": loyer, "charges_cents": charges, "date_effet": effet}, tmp)
    typed = forms.parse("LOYER", {"nom": "Martin", "numero_allocataire": "7100001", "code_locataire": "LOC000001",
                                  "loyer": euros_text(loyer), "charges": euros_text(charges),
                                  "date_effet": effet.isoformat(), "nb_colocataires": ""})
    assert typed.errors == {}
    for tenancy in ({"loyer_cents": 1}, None):
        assert outcome(dr.check_loyer(typed.record, tenancy, TODAY)) == outcome(dr.check_loyer(by_file, tenancy, TODAY))


# ------------------------------------------------------------ deadlines on the Paris calendar

@pytest.mark.parametrize("received_utc, paris_day", [
    (datetime(2026, 3, 31, 21, 59), date(2026, 3, 31)),   # 23:59 in Paris (summer time, UTC+2)
    (datetime(2026, 3, 31, 22, 0), date(2026, 4, 1)),     # midnight in Paris
    (datetime(2026, 12, 31, 22, 59), date(2026, 12, 31)),  # winter time, UTC+1
    (datetime(2026, 12, 31, 23, 0), date(2027, 1, 1)),
])
def test_the_reporting_day_is_the_paris_day(received_utc, paris_day):
    assert dr.jour_de_reception(received_utc) == paris_day


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1)))
def test_the_paris_day_is_the_utc_day_or_the_next(moment):
    day = dr.jour_de_reception(moment)
    # Paris is one or two hours ahead of UTC: same day, or the next from 22:00 / 23:00 UTC on.
    assert day == moment.date() or (day == moment.date() + timedelta(days=1) and moment.hour >= 22)


@given(days)
def test_the_two_month_delay_ends_on_the_same_day_two_months_later(constitution):
    limit = dr.echeance_signalement(constitution)
    assert not dr.signalement_tardif(constitution, limit)
    assert dr.signalement_tardif(constitution, limit + timedelta(days=1))
    assert (limit.year * 12 + limit.month) - (constitution.year * 12 + constitution.month) == 2
    assert limit.day <= constitution.day


def test_anomalies_name_the_field_the_web_form_shows_them_at():
    rec = {"code_locataire": "L1", "numero_allocataire": "7100001", "montant_dette_cents": 100,
           "loyer_mensuel_cents": 58000, "date_constitution": date(2026, 11, 1),
           "periode_debut": date(2026, 9, 1), "periode_fin": date(2026, 10, 31)}
    tenancy = {"loyer_cents": 50000, "charges_cents": 8000, "tiers_payant": False, "aide_mensuelle_cents": 0}
    [a] = dr.check_impaye(rec, tenancy, TODAY)
    assert (a.code, forms.FIELD_OF_KEY[a.champ]) == ("IMPAYE_NON_CONSTITUE", "dette")
    [late] = dr.check_impaye({**rec, "montant_dette_cents": 200000, "date_constitution": date(2026, 9, 1)},
                             tenancy, TODAY)
    assert (late.code, late.severite, late.champ) == ("IMPAYE_SIGNALE_TARDIVEMENT", "AVERTISSEMENT",
                                                      "date_constitution")


def test_a_file_received_at_midnight_in_paris_is_reported_that_paris_day(
        app, api_client, edi_token, landlord, signer, tenants, run_jobs):
    """Fix: the intake took the UTC day of reception (`recu_le.date()`) as the reporting day: an
    impayé sent at 00:30 in Paris on the day after its R824-4 deadline was not flagged late."""
    from cdap.models import SignalementImpaye
    from edi.models import EdiEnregistrement, EdiFichier
    from portal.extensions import db
    from sqlalchemy import select
    from .test_pipeline import upload

    received = datetime(2027, 3, 31, 22, 30)  # 1 April, 00:30 in Paris (summer time)
    t = tenants[0]
    rec = {"identifiant": "I1", "code_locataire": t["code_locataire"], "numero_allocataire": t["numero_allocataire"],
           "montant_dette_cents": 100000, "loyer_mensuel_cents": 58000, "date_constitution": date(2027, 1, 31),
           "periode_debut": date(2026, 12, 1), "periode_fin": date(2027, 1, 31), "plan_apurement": False}
    from datetime import timezone
    data = build_xml("IMPAYES", landlord, [rec], file_id="IMP-PARIS",
                     created_at=received.replace(tzinfo=timezone.utc) - timedelta(minutes=5))
    fid = upload(api_client(edi_token), data, signer.sign(data))
    db.session.get(EdiFichier, fid).recu_le = received
    db.session.commit()
    assert run_jobs() == ["done"]
    f = db.session.get(EdiFichier, fid)
    assert f.statut == "TRAITE", f.motifs
    [row] = db.session.scalars(select(EdiEnregistrement).where(EdiEnregistrement.fichier_id == fid)).all()
    assert row.code == "IMPAYE_SIGNALE_TARDIVEMENT"
    signalement = db.session.scalar(select(SignalementImpaye).where(SignalementImpaye.allocataire_id == t["allocataire"].id))
    assert signalement.date_signalement == date(2027, 4, 1)
