"""EDI tells people: a file rejected or processed in part (edi.notifications), and the landlord
operator's home page starts with « Déposer un fichier » and the last rejections."""
from __future__ import annotations

from sqlalchemy import select

from edi.models import EdiFichier
from portal.extensions import db
from portal.notifications import Notification
from tests.edi.test_pipeline import loyer_records, upload
from tests.support.edi_files import build_xml


def _notes(user):
    return db.session.scalars(select(Notification).where(Notification.user_id == user.id,
                                                         Notification.kind == "edi_fichier")).all()


def test_rejected_file_tells_the_operators_and_shows_on_their_home(
        app, client, login, api_client, edi_token, landlord, operator, signer, tenants, run_jobs):
    api = api_client(edi_token)
    wrong = build_xml("LOYERS", landlord, loyer_records(tenants, loyer_cents=0), file_id="F-N")
    good = build_xml("LOYERS", landlord, loyer_records(tenants), file_id="F-OK")
    a = upload(api, wrong, signer.sign(wrong), name="loyers-janvier.xml")
    upload(api, good, signer.sign(good))
    run_jobs()
    db.session.expire_all()
    assert db.session.get(EdiFichier, a).statut == "REJETE"
    (note,) = _notes(operator)                       # the accepted file tells no one
    assert note.title == "Fichier EDI rejeté : loyers-janvier.xml" and note.url == f"/edi/fichiers/{a}"
    assert note.emailed_at is not None
    login(operator)
    page = client.get("/accueil").get_data(as_text=True)
    actions = page[page.index('data-testid="next-actions"'):]
    assert 'data-testid="edi-next-upload"' in actions and "Déposer un fichier" in actions
    assert f"/edi/fichiers/{a}" in actions[:actions.index('data-testid="edi-last-rejections"') + 2000]
