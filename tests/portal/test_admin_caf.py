"""Caf admin: organisations, contracts, suspensions, audit trail page; CLI audit verify/purge."""
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from portal import audit
from portal.audit import AuditEntry, record_event
from portal.extensions import db
from portal.formatting import accord
from portal.models import Organisation, User, UserSession, utcnow


@pytest.fixture
def caf_admin(factory, client):
    user = factory.user(factory.caf(), role="caf_admin")
    factory.sign_in(client, user)
    return user


def post(client, path, data=None, page="/accueil"):
    from tests.support.factories import csrf_token
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client, page)})


def org_data(**over):
    data = {"org-nom": "Habitat de la Baie", "org-kind": "bailleur", "org-siret": "73282932000074",
            "org-code_bailleur": "BL080099", "org-territoire": "80", "org-convention_ref": "CONV-80-2026-12",
            "org-convention_signee_le": "2026-01-15"}
    data.update(over)
    return data


def test_create_organisation_then_contract_then_first_admin(client, factory, caf_admin):
    response = post(client, "/caf/administration/organisations/nouvelle", org_data(),
                    page="/caf/administration/organisations/nouvelle")
    assert response.status_code == 302
    org = db.session.scalars(select(Organisation).where(Organisation.siret == "73282932000074")).one()
    assert (org.kind, org.code_bailleur, org.territoire, org.convention_ref) == \
        ("bailleur", "BL080099", "80", "CONV-80-2026-12")
    base = f"/caf/administration/organisations/{org.id}"
    assert client.get("/caf/administration/organisations?q=baie").get_data(as_text=True).count("Habitat de la Baie") >= 1

    bad_cdap = post(client, f"{base}/contrats", {"contrat-service": "CDAP", "contrat-debut": "2026-01-01"}, page=base)
    assert bad_cdap.status_code == 422 and "au moins un profil" in bad_cdap.get_data(as_text=True)
    assert post(client, f"{base}/contrats", {"contrat-service": "CDAP", "contrat-profils": ["bailleur"],
                                              "contrat-debut": "2026-01-01"}, page=base).status_code == 302
    assert post(client, f"{base}/contrats", {"contrat-service": "EDI", "contrat-debut": "2026-01-01"},
                page=base).status_code == 302
    dup = post(client, f"{base}/contrats", {"contrat-service": "EDI", "contrat-debut": "2026-01-01"}, page=base)
    assert dup.status_code == 422
    db.session.refresh(org)
    assert org.active_contrat("CDAP").profils == ["bailleur"] and org.active_contrat("EDI")

    contrat = org.active_contrat("CDAP")
    assert post(client, f"/caf/administration/contrats/{contrat.id}",
                {f"c{contrat.id}-profils": ["bailleur", "travailleur_social"]}, page=base).status_code == 302
    db.session.refresh(contrat)
    assert contrat.profils == ["bailleur", "travailleur_social"]

    created = post(client, f"{base}/utilisateurs", {"user-prenom": "Paul", "user-nom": "Lemaire",
                                                    "user-email": "p.lemaire@baie.example", "user-role": "partner_admin"},
                   page=base)
    assert created.status_code == 302
    user = db.session.scalars(select(User).where(User.email == "p.lemaire@baie.example")).one()
    assert user.organisation_id == org.id and user.role == "partner_admin"
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.actor_user_id == caf_admin.id)).all()
    assert {"organisation_created", "contrat_created", "contrat_updated", "user_created"} <= set(actions)


@pytest.mark.parametrize("over,message", [
    ({"org-siret": "1234"}, "14 chiffres"),
    ({"org-siret": "73282932000075"}, "clé de contrôle"),
    ({"org-code_bailleur": ""}, "code bailleur"),
    ({"org-territoire": "999x"}, "département"),
    ({"org-kind": "secte"}, "Not a valid choice"),
])
def test_organisation_validation(client, caf_admin, over, message):
    response = post(client, "/caf/administration/organisations/nouvelle", org_data(**over),
                    page="/caf/administration/organisations/nouvelle")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html or "Choix non valide" in html or "choix valide" in html
    assert "Not a valid" not in html
    assert 'aria-invalid="true"' in html or "fr-select-group--error" in html


def test_edit_organisation_and_siret_clash(client, factory, caf_admin):
    org = factory.organisation("association", services={"AFAS": []})
    other = factory.organisation("association", siret="73282932000074")
    base = f"/caf/administration/organisations/{org.id}"
    clash = post(client, base, org_data(**{"org-kind": "association", "org-code_bailleur": "",
                                            "org-siret": other.siret}), page=base)
    assert clash.status_code == 422 and "déjà ce SIRET" in clash.get_data(as_text=True)
    ok = post(client, base, org_data(**{"org-nom": "Les Petits Loups", "org-kind": "association",
                                         "org-code_bailleur": "", "org-siret": org.siret}), page=base)
    assert ok.status_code == 302
    db.session.refresh(org)
    assert org.nom == "Les Petits Loups" and org.convention_ref == "CONV-80-2026-12"


def test_suspend_organisation_revokes_sessions_and_tokens(app, client, factory, caf_admin, api_client):
    org = factory.organisation("bailleur", services={"EDI": []})
    operator = factory.user(org, role="bailleur_operator", habilitations={"EDI": None})
    admin = factory.user(org, role="partner_admin")
    _token, raw = factory.api_token(org, admin, scopes=["EDI"])
    browser = app.test_client()
    factory.sign_in(browser, operator)
    cookie = browser.get_cookie("ep_session").value
    base = f"/caf/administration/organisations/{org.id}"

    no_motif = post(client, f"{base}/suspendre", {"susp-motif": "  "}, page=base)
    assert no_motif.status_code == 422
    assert post(client, f"{base}/suspendre", {"susp-motif": "Convention dénoncée"}, page=base).status_code == 302
    db.session.refresh(org)
    assert org.suspended_at is not None and org.suspension_motif == "Convention dénoncée"
    assert db.session.scalars(select(UserSession).where(UserSession.user_id == operator.id,
                                                        UserSession.revoked_at.is_(None))).all() == []
    replay = app.test_client()
    replay.set_cookie("ep_session", cookie)
    assert replay.get("/accueil").status_code == 302
    assert api_client(raw).get("/api/v1/moi").status_code == 401
    assert post(client, f"{base}/retablir", page=base).status_code == 302
    db.session.refresh(org)
    assert org.suspended_at is None
    assert api_client(raw).get("/api/v1/moi").status_code == 200
    # the Caf cannot suspend itself
    assert post(client, f"/caf/administration/organisations/{caf_admin.organisation_id}/suspendre",
                {"susp-motif": "test"}, page=base).status_code == 422


def test_suspend_habilitation_with_motif_revokes_sessions(app, client, factory, caf_admin):
    org = factory.organisation("conseil_departemental", services={"CDAP": ["travailleur_social"]})
    worker = factory.user(org, role="travailleur_social", habilitations={"CDAP": "travailleur_social"})
    browser = app.test_client()
    factory.sign_in(browser, worker)
    hab = worker.habilitations[0]
    page = f"/administration/utilisateurs/{worker.id}"
    assert "Suspendre" in client.get(page).get_data(as_text=True)
    until = (utcnow() + timedelta(days=30)).date().isoformat()
    response = post(client, f"/caf/administration/habilitations/{hab.id}/suspendre",
                    {"susp-motif": "Consultations hors mission", "susp-until": until}, page=page)
    assert response.status_code == 302
    db.session.refresh(hab)
    assert not hab.is_active() and hab.suspension_motif == "Consultations hors mission"
    assert worker.habilitation("CDAP") is None
    assert browser.get("/accueil").status_code == 302
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "habilitation_suspended")).one()
    assert entry.details["motif"] == "Consultations hors mission" and entry.organisation_id == org.id
    assert post(client, f"/caf/administration/habilitations/{hab.id}/lever", page=page).status_code == 302
    db.session.refresh(hab)
    assert hab.is_active()


AUDIT = "/caf/administration/audit"
VERIFY = "/caf/administration/audit/verification"


@pytest.fixture
def no_chain_walk(monkeypatch):
    """Fails the test if anything walks the chain (the page GET must not)."""
    from portal import chain

    def refuse(*args, **kwargs):
        raise AssertionError("la page a vérifié la chaîne")
    monkeypatch.setattr(chain, "verify_chain", refuse)


def table_body(html: str) -> str:
    return html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]


def verifications():
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == "chain_verified")
                              .order_by(AuditEntry.seq)).all()


def test_audit_page_filters_without_walking_the_chain(client, factory, caf_admin, no_chain_walk):
    org = factory.organisation()
    record_event("admin", "probe_event", organisation_id=org.id, target="probe")
    record_event("edi", "other_event", target="probe2")
    db.session.flush()
    page = client.get(f"{AUDIT}?category=admin&organisation={org.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    rows = table_body(html)
    assert "probe" in rows and "probe2" not in rows
    assert "Aucune vérification enregistrée" in html
    assert f'action="{VERIFY}"' in html and "Vérifier l'intégrité de la chaîne" in html
    # The action filter is a list of the actions recorded, by their names; exact match.
    assert '<option value="other_event">Other event</option>' in html  # unlabelled: words, not the code
    rows = table_body(client.get(f"{AUDIT}?action=other_event").get_data(as_text=True))
    assert "probe2" in rows and ">probe<" not in rows
    # A date that is no date, or a page that is no number: a clear 400, never the whole trail.
    refused = client.get(f"{AUDIT}?du=pas-une-date")
    assert refused.status_code == 400 and "probe2" not in table_body(refused.get_data(as_text=True))
    assert client.get(f"{AUDIT}?page=abc").status_code == 400
    assert verifications() == []


def verification_jobs():
    from portal import jobs
    return db.session.scalars(select(jobs.Job).where(jobs.Job.kind == "portal.verify_audit_chain")
                              .order_by(jobs.Job.id)).all()


def test_chain_verification_post_queues_one_job_and_writes_nothing_else(client, factory, caf_admin,
                                                                        no_chain_walk):
    from portal import jobs
    from tests.portal.test_get_is_safe import fingerprint
    record_event("admin", "probe_event", target="probe")
    db.session.flush()
    page_token = client.get(AUDIT)  # the CSRF token's page, before the fingerprint
    assert "Vérification en cours" not in page_token.get_data(as_text=True)
    before = fingerprint()

    done = post(client, VERIFY, page=AUDIT)
    assert done.status_code == 302 and done.headers["Location"].endswith(AUDIT)
    after = fingerprint()
    assert [name for name in before if before[name] != after[name]] == ["jobs"]
    assert after["jobs"][0] == before["jobs"][0] + 1
    (job,) = verification_jobs()
    assert (job.status, job.queue, job.payload) == (jobs.PENDING, "default", {"actor_user_id": caf_admin.id})
    assert verifications() == []
    html = client.get(AUDIT).get_data(as_text=True)
    assert "Vérification lancée" in html  # the flash
    assert "Vérification en cours" in html and "Aucune vérification enregistrée" in html

    # No pile-up: while the job is pending, then running, another POST queues nothing.
    for status in (jobs.PENDING, jobs.RUNNING):
        job.status = status
        db.session.flush()
        before = fingerprint()
        assert post(client, VERIFY, page=AUDIT).status_code == 302
        assert fingerprint() == before
        html = client.get(AUDIT).get_data(as_text=True)
        assert "Une vérification est déjà en cours" in html and "Vérification en cours" in html
    assert len(verification_jobs()) == 1 and verifications() == []


def test_chain_verification_job_records_its_outcome_for_the_page(client, factory, caf_admin, run_jobs,
                                                                 monkeypatch):
    from portal import chain, jobs
    walks = []
    real_verify = chain.verify_chain
    monkeypatch.setattr(chain, "verify_chain", lambda *a, **k: walks.append(1) or real_verify(*a, **k))
    org = factory.organisation()
    record_event("admin", "probe_event", organisation_id=org.id, target="probe")
    db.session.flush()
    rows = db.session.query(AuditEntry).count()

    assert post(client, VERIFY, page=AUDIT).status_code == 302
    assert walks == [] and verifications() == []
    assert run_jobs("portal.verify_audit_chain") == ["done"]
    assert len(walks) == 1
    (first,) = verifications()
    assert first.details["ok"] is True and first.details["checked"] == rows
    assert first.actor_user_id == caf_admin.id and first.category == "audit"
    (job,) = verification_jobs()
    assert job.status == jobs.DONE and job.result == {"ok": True, "checked": rows, "first_broken_seq": None}
    html = client.get(AUDIT).get_data(as_text=True)
    assert "Vérification en cours" not in html
    assert "Chaîne intègre lors de la dernière vérification" in html
    assert accord(rows, "entrée vérifiée", "entrées vérifiées") in html and caf_admin.full_name in html

    # Tamper a row: the page still loads and still shows the last (good) verification; it does
    # not walk the chain.
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "probe_event")).one()
    db.session.execute(text("UPDATE audit_entries SET target = 'falsifié' WHERE id = :id"), {"id": entry.id})
    record_event("admin", "later_event", target="probe3")
    db.session.flush()
    db.session.expire_all()
    page = client.get(AUDIT)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and len(walks) == 1
    assert "Chaîne intègre lors de la dernière vérification" in html and "Chaîne rompue" not in html
    assert "1 entrée ajoutée depuis, pas encore vérifiée." in html

    # Once the first job is done a new POST queues a new one, which names the first broken
    # sequence, in its event and on the page.
    assert post(client, VERIFY, page=AUDIT).status_code == 302
    assert len(verification_jobs()) == 2 and len(walks) == 1
    assert run_jobs("portal.verify_audit_chain") == ["done"]
    assert len(walks) == 2
    last = verifications()[-1]
    assert last.details["ok"] is False and last.details["first_broken_seq"] == entry.seq
    assert last.details["first_broken_id"] == entry.id and "contenu modifié" in last.details["reason"]
    html = client.get(AUDIT).get_data(as_text=True)
    assert "Chaîne rompue lors de la dernière vérification" in html
    assert f"séquence {entry.seq} (id {entry.id})" in html and len(walks) == 2


def test_redelivered_verification_job_just_verifies_again(client, factory, caf_admin, run_jobs):
    from portal import jobs
    assert post(client, VERIFY, page=AUDIT).status_code == 302
    (job,) = verification_jobs()
    job.deliveries = 1  # a first delivery was taken over (worker killed after its commit)
    db.session.flush()
    assert run_jobs("portal.verify_audit_chain") == ["done"]
    job = db.session.get(jobs.Job, job.id, populate_existing=True)
    assert (job.status, job.deliveries) == (jobs.DONE, 2)
    assert [v.details["ok"] for v in verifications()] == [True]
    job.status = jobs.PENDING  # delivered once more (duplicate message)
    db.session.flush()
    assert run_jobs("portal.verify_audit_chain") == ["done"]
    assert [v.details["ok"] for v in verifications()] == [True, True]
    assert all(v.actor_user_id == caf_admin.id for v in verifications())


def test_verification_outcome_commits_with_the_job_done_mark(client, caf_admin, run_jobs, monkeypatch):
    """The outcome and the DONE mark are one commit: an attempt that lost its lease (another
    delivery took the job over while it walked the chain) records no outcome, and the page never
    shows a result next to « Vérification en cours »."""
    from portal import chain, jobs
    from sqlalchemy import update
    real_verify = chain.verify_chain

    def taken_over_while_walking(*args, **kwargs):
        report = real_verify(*args, **kwargs)
        db.session.execute(update(jobs.Job).where(jobs.Job.kind == "portal.verify_audit_chain")
                           .values(deliveries=jobs.Job.deliveries + 1))
        return report

    monkeypatch.setattr(chain, "verify_chain", taken_over_while_walking)
    assert post(client, VERIFY, page=AUDIT).status_code == 302
    assert run_jobs("portal.verify_audit_chain") == ["lost"]
    assert verifications() == []
    html = client.get(AUDIT).get_data(as_text=True)
    assert "Vérification en cours" in html and "Aucune vérification enregistrée" in html


def test_chain_verification_refused_without_csrf_or_to_other_roles(app, client, factory, caf_admin):
    assert client.post(VERIFY).status_code == 400
    assert client.post(VERIFY, data={"csrf_token": "forge"}).status_code == 400
    for role, org in (("caf_agent", factory.caf()), ("partner_admin", factory.organisation())):
        other = app.test_client()
        factory.sign_in(other, factory.user(org, role=role))
        assert other.get(AUDIT).status_code == 403
        assert post(other, VERIFY).status_code == 403
    assert verifications() == [] and verification_jobs() == []


# --- CLI: portal audit verify / purge --------------------------------------------------------

def test_cli_audit_verify_names_first_broken_row(app, factory):
    for i in range(3):
        record_event("admin", f"cli_probe_{i}", target=str(i))
    db.session.flush()
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "intègre" in ok.output
    rows = db.session.scalars(select(AuditEntry).where(AuditEntry.action.like("cli_probe_%"))
                              .order_by(AuditEntry.seq)).all()
    db.session.execute(text("UPDATE audit_entries SET details = :d WHERE id = :id"),
                       {"d": '{"forged": true}', "id": rows[1].id})
    db.session.execute(text("UPDATE audit_entries SET target = 'x' WHERE id = :id"), {"id": rows[2].id})
    db.session.expire_all()
    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code == 1
    assert f"séquence {rows[1].seq}" in broken.output and f"id={rows[1].id}" in broken.output


def test_cli_audit_verify_detects_deleted_row(app, factory):
    for i in range(3):
        record_event("admin", f"del_probe_{i}")
    db.session.flush()
    middle = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "del_probe_1")).one()
    seq = middle.seq
    db.session.execute(text("DELETE FROM audit_entries WHERE id = :id"), {"id": middle.id})
    db.session.expire_all()
    report = audit.verify()
    assert not report.ok and report.first_broken_seq == seq
    broken = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert broken.exit_code == 1 and f"séquence {seq}" in broken.output


def test_cli_audit_purge_respects_retention(app, factory):
    old = [record_event("admin", f"old_{i}") for i in range(2)]
    record_event("admin", "recent")
    db.session.flush()
    for entry in old:
        db.session.execute(text("UPDATE audit_entries SET at = :at WHERE id = :id"),
                           {"at": utcnow() - timedelta(days=400), "id": entry.id})
    # Re-hash the aged rows so the chain stays valid (as if written 400 days ago).
    db.session.expire_all()
    from portal.chain import compute_hash
    rows = db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    prev = None
    for row in rows:
        if prev is not None:
            row.prev_hash = prev
        row.row_hash = compute_hash(row.seq, row.prev_hash, row.chain_payload())
        prev = row.row_hash
    from portal.chain import ChainHead
    head = db.session.get(ChainHead, "audit")
    head.last_hash = prev
    db.session.flush()
    assert audit.verify().ok

    runner = app.test_cli_runner()
    refused = runner.invoke(args=["audit", "purge", "--months", "37"])
    assert refused.exit_code != 0 and "36" in refused.output
    done = runner.invoke(args=["audit", "purge", "--months", "12"])
    assert done.exit_code == 0, done.output
    db.session.expire_all()
    remaining = db.session.scalars(select(AuditEntry.action)).all()
    assert "recent" in remaining and not any(a.startswith("old_") for a in remaining)
    assert audit.verify().ok  # the anchor moved: the chain still verifies after the purge


def test_caf_home_panel_counts_suspended_organisations(client, factory, caf_admin):
    before = db.session.query(Organisation).filter(Organisation.suspended_at.is_not(None)).count()
    factory.organisation(suspended_at=utcnow(), suspension_motif="test")
    db.session.flush()
    html = client.get("/accueil").get_data(as_text=True)
    assert f"Organisations suspendues : <strong>{before + 1}</strong>" in html


def test_the_caf_lifts_a_suspension_kept_on_a_revoked_habilitation(client, factory, caf_admin):
    """Revoking does not lift a suspension; the Caf still sees it on the user's page and lifts it
    there, after which the partner admin may grant the service again."""
    from portal.admin import services
    org = factory.organisation("conseil_departemental", services={"CDAP": ["travailleur_social"]})
    partner_admin = factory.user(org, role="partner_admin")
    operator = factory.user(org, role="travailleur_social", habilitations={"CDAP": "travailleur_social"})
    hab = operator.habilitations[0]
    services.suspend_habilitation(hab, actor=caf_admin, motif="Usage atypique", until=None)
    services.revoke_habilitation(hab, actor=partner_admin)
    page = f"/administration/utilisateurs/{operator.id}"
    html = client.get(page).get_data(as_text=True)
    assert "Retirée le" in html and "Suspension en cours" in html and "Lever la suspension" in html
    assert post(client, f"/caf/administration/habilitations/{hab.id}/lever", page=page).status_code == 302
    db.session.refresh(hab)
    assert not hab.is_suspended()
    services.grant_habilitation(operator, actor=partner_admin, service="CDAP", profil="travailleur_social")


def test_audit_date_range_must_run_forward(client, factory, caf_admin, no_chain_walk):
    record_event("admin", "user_created", target="probe")
    db.session.flush()
    refused = client.get(f"{AUDIT}?du=2026-03-10&au=2026-03-01")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "La date de fin doit être le même jour que la date de début ou après." in html
    assert 'id="au-error"' in html and "probe" not in table_body(html)
    same_day = client.get(f"{AUDIT}?du=2026-03-01&au=2026-03-01")
    assert same_day.status_code == 200
    # Actions by their names in the filter and in the table.
    page = client.get(AUDIT).get_data(as_text=True)
    assert '<option value="user_created">Utilisateur créé</option>' in page
    assert "<td>Utilisateur créé</td>" in table_body(page)
