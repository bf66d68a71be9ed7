"""AFAS tells people (afas.notifications) and its thread takes attachments (afas.attachments):
who is told of what, and who may download an attachment, role by role."""
import io
from datetime import date, datetime

import pytest
from sqlalchemy import select

from afas import attachments, services
from afas.attachments import MessageAttachment
from portal.extensions import db
from portal.models import OutboxMessage
from portal.notifications import Notification

from .conftest import csrf
from .helpers import alsh

PDF = b"%PDF-1.4\n% justificatif\n"


def _notes(user, kind=None):
    query = select(Notification).where(Notification.user_id == user.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return db.session.scalars(query).all()


@pytest.fixture
def sent(afas_world):
    w = afas_world
    decl = services.create_declaration(w.alsh, 2025, "reel", w.manager)
    services.save_draft(decl, alsh(), {"EXCEDENT": "x"}, w.manager)
    services.transmit(decl, w.manager)
    return decl


def test_correction_request_tells_the_managers_once(afas_world, sent):
    w = afas_world
    mails_before = set(db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.to == w.manager.email)))
    services.request_correction(sent, w.agent, "Joignez le compte de résultat.")
    (note,) = _notes(w.manager, "afas_correction")
    assert note.url == f"/afas/declarations/{sent.id}" and "Joignez le compte de résultat." in note.body
    assert _notes(w.manager, "afas_message") == []          # the request's message: one notification only
    mail = db.session.scalars(select(OutboxMessage).where(OutboxMessage.to == w.manager.email,
                                                          OutboxMessage.id.not_in(mails_before))).all()
    assert [m.subject for m in mail] == [f"Extranet Partenaires — Correction demandée : Réel 2025 — {w.alsh.libelle}"]
    assert _notes(w.other_manager) == [] and _notes(w.agent) == []


def test_partner_message_tells_the_agent_in_charge(afas_world, sent, factory):
    w = afas_world
    other_agent = factory.user(w.caf, "caf_agent", habilitations={"AFAS": None})
    services.take_in_charge(sent, w.agent)
    services.post_message(sent, w.manager, "Voici le document.")
    (note,) = _notes(w.agent, "afas_message")
    assert note.url == f"/afas/instruction/{sent.id}"
    assert _notes(other_agent) == []


def test_partner_message_without_agent_tells_every_afas_agent(afas_world, sent, factory):
    w = afas_world
    other_agent = factory.user(w.caf, "caf_agent", habilitations={"AFAS": None})
    services.post_message(sent, w.manager, "Une question.")
    assert len(_notes(w.agent, "afas_message")) == 1 and len(_notes(other_agent, "afas_message")) == 1


def test_validation_and_payments_tell_the_managers(afas_world):
    w = afas_world
    # The fixture validated the prévisionnel 2025 and paid its two acomptes.
    assert len(_notes(w.manager, "afas_validation")) == 1
    payments = _notes(w.manager, "afas_paiement")
    assert len(payments) == 2 and all(n.channel == "quotidien" and n.emailed_at is None for n in payments)
    assert "Acompte n° 1 versé de" in payments[0].title


def test_message_with_attachment_is_stored_once_by_content(afas_world, sent):
    w = afas_world
    msg = services.post_message(sent, w.manager, "", files=[("Compte résultat.pdf", io.BytesIO(PDF))])
    again = services.post_message(sent, w.manager, "Le même", files=[("copie.pdf", io.BytesIO(PDF))])
    (a,), (b,) = msg.attachments, again.attachments
    assert a.sha256 == b.sha256 and a.mimetype == "application/pdf" and a.size == len(PDF)
    assert a.filename == "Compte résultat.pdf"


@pytest.mark.parametrize("name, data, reason", [
    ("faux.pdf", b"<html></html>", "ne correspond pas"),
    ("programme.exe", b"MZ", "non accepté"),
    ("vide.pdf", b"", "vide"),
])
def test_refused_attachment_keeps_nothing(afas_world, sent, name, data, reason):
    with pytest.raises(services.ActionRefused, match=reason) as refused:
        services.post_message(sent, afas_world.manager, "Voici", files=[(name, io.BytesIO(data))])
    assert refused.value.status == 422
    assert db.session.scalars(select(MessageAttachment)).all() == []


def test_too_many_or_too_large(afas_world, sent, monkeypatch):
    files = [(f"p{i}.pdf", io.BytesIO(PDF)) for i in range(attachments.MAX_FILES + 1)]
    with pytest.raises(services.ActionRefused, match="au plus"):
        services.post_message(sent, afas_world.manager, "x", files=files)
    monkeypatch.setattr(attachments, "MAX_BYTES", 10)
    with pytest.raises(services.ActionRefused, match="dépasse"):
        services.post_message(sent, afas_world.manager, "x", files=[("gros.pdf", io.BytesIO(PDF))])


def test_attachment_download_role_by_role(app, client, afas_world, sent, factory):
    w = afas_world
    services.post_message(sent, w.manager, "Pièce", files=[("bilan.pdf", io.BytesIO(PDF))])
    piece = db.session.scalars(select(MessageAttachment)).one()
    bailleur = factory.organisation("bailleur", services={"EDI": []})
    cases = [
        (w.manager, 200), (w.partner_admin, 200), (w.agent, 200),
        (w.admin_caf, 403),                                   # Caf admin without AFAS habilitation
        (w.other_manager, 404),                               # another organisation
        (factory.user(w.org, "partner_manager", habilitations={"CDAP": "quotient_familial"}), 403),
        (factory.user(bailleur, "bailleur_operator", habilitations={"EDI": None}), 403),
    ]
    url = f"/afas/declarations/{sent.id}/pieces/{piece.id}"
    for user, status in cases:
        client = app.test_client()
        factory.sign_in(client, user)
        response = client.get(url)
        assert response.status_code == status, (user.role, response.status_code)
        if status == 200:
            assert response.data == PDF and response.mimetype == "application/pdf"
            assert response.headers["Content-Disposition"] == "attachment; filename=bilan.pdf"
            assert response.headers["Cache-Control"] == "no-store"
    client = app.test_client()
    factory.sign_in(client, w.manager)
    assert client.get(f"/afas/declarations/{w.prev.id}/pieces/{piece.id}").status_code == 404  # wrong declaration
    assert app.test_client().get(url).status_code == 302                                      # signed out


def test_message_form_posts_attachment_and_refuses_bad_one(client, login, afas_world, sent):
    w = afas_world
    services.request_correction(sent, w.agent, "Le bilan, svp.")
    login(w.manager)
    token = csrf(client, f"/afas/declarations/{sent.id}")
    bad = client.post(f"/afas/declarations/{sent.id}/messages", follow_redirects=True, data={
        "csrf_token": token, "body": "voici", "pieces": (io.BytesIO(b"<html/>"), "bilan.pdf")},
        content_type="multipart/form-data")
    assert "ne correspond pas à son extension" in bad.get_data(as_text=True)
    ok = client.post(f"/afas/declarations/{sent.id}/messages", follow_redirects=True, data={
        "csrf_token": token, "body": "voici", "pieces": (io.BytesIO(PDF), "bilan.pdf")},
        content_type="multipart/form-data")
    page = ok.get_data(as_text=True)
    assert 'data-testid="afas-attachment"' in page and "bilan.pdf" in page
    (note,) = _notes(w.agent, "afas_message")
    assert "1 pièce jointe" in note.body


def test_manager_home_starts_with_corrections_and_soonest_deadlines(client, login, afas_world, sent):
    w = afas_world
    services.request_correction(sent, w.agent, "À revoir")
    db.session.flush()
    login(w.manager)
    page = client.get("/accueil").get_data(as_text=True)
    actions = page.index('data-testid="next-actions"')
    assert actions < page.index('data-testid="afas-home-panel"')
    assert 'data-testid="afas-to-correct"' in page and "1 déclaration à corriger" in page
    assert f"/afas/declarations/{sent.id}" in page[actions:page.index('data-testid="afas-home-panel"')]


def test_pay_due_acomptes_publishes_one_payment_each(afas_world):
    w = afas_world
    decl = services.create_declaration(w.alsh, 2026, "previsionnel", w.manager)
    services.save_draft(decl, alsh(), {"EXCEDENT": "x"}, w.manager)
    services.transmit(decl, w.manager, now=datetime(2026, 1, 10, 9, 0))
    services.validate(decl, w.agent, now=datetime(2026, 1, 20, 9, 0))
    before = len(_notes(w.manager, "afas_paiement"))
    paid = services.pay_due_acomptes(on=date(2026, 12, 31))
    assert len(_notes(w.manager, "afas_paiement")) == before + paid and paid >= 1
