"""The issue's "What it must show", through the Flask test client: a partner creates, checks,
justifies and transmits an EAJE réel and an ALSH prévisionnel; the agent requests a correction,
the partner corrects, the agent validates; droit and régularisation match the formula."""
import io
import re

from openpyxl import load_workbook
from sqlalchemy import select

from afas.droit import compute_droit, eur
from afas.models import Acompte, Declaration
from afas.validation import parse_declaration
from portal.audit import AuditEntry
from portal.extensions import db

from .conftest import csrf
from .helpers import alsh, bareme, eaje


def form(data, token, action=None, **justifications):
    out = {**{k: ("on" if v is True else ("" if v is False else v)) for k, v in data.items()}, "csrf_token": token}
    if action:
        out["action"] = action
    out.update({f"justification_{k.replace('_', '-')}": v for k, v in justifications.items()})
    return out


def create(client, eq, annee, type_):
    token = csrf(client, f"/afas/equipements/{eq.id}")
    response = client.post(f"/afas/equipements/{eq.id}/declarations", data={"annee": annee, "type": type_, "csrf_token": token})
    assert response.status_code == 302
    return int(re.search(r"/afas/declarations/(\d+)", response.headers["Location"]).group(1))


def test_full_scenario(app, client, login, afas_world):
    w = afas_world
    login(w.manager)
    home = client.get("/accueil").get_data(as_text=True)
    assert 'data-testid="afas-home-panel"' in home and "Crèche Les Lutins" in home
    assert client.get("/afas/").status_code == 200

    # 1. EAJE réel 2025, pre-filled from the prévisionnel 2025.
    did = create(client, w.creche, 2025, "reel")
    page = client.get(f"/afas/declarations/{did}").get_data(as_text=True)
    assert 'value="72000"' in page                     # pre-filled
    assert 'data-testid="afas-transmit"' in page and 'id="afas-live"' in page
    assert 'hx-trigger="input changed delay:300ms' in page

    # Live preview while typing: 88 000 h facturées for 80 000 réalisées = 110 % -> alerte 107.
    real = eaje(heures_realisees=80000, heures_facturees=88000, participations_familiales=126720,
                places_agreees=40, c64=960000, total_charges=960000, p74=960000, total_produits=960000)
    token = csrf(client, f"/afas/declarations/{did}")
    partial = client.post(f"/afas/declarations/{did}/apercu", data=form(real, token),
                          headers={"HX-Request": "true", "X-CSRFToken": token})
    assert partial.status_code == 200
    html = partial.get_data(as_text=True)
    assert 'data-testid="controle-TAUX-FACTURATION-107"' in html and "110 %" in html
    assert 'data-testid="afas-droit-montant"' in html and "<html" not in html
    expected = compute_droit("EAJE", parse_declaration("EAJE", real).values, bareme(2025))
    assert f'data-value="{expected.montant:.2f}"' in html
    # Typing garbage shows the message next to the field (out-of-band swap), never a 500.
    bad = client.post(f"/afas/declarations/{did}/apercu", data=form({**real, "heures_realisees": "beaucoup"}, token),
                      headers={"X-CSRFToken": token})
    assert bad.status_code == 200 and 'id="f-heures_realisees-error"' in bad.get_data(as_text=True)
    assert "Saisissez un nombre" in bad.get_data(as_text=True)

    # Transmit without justification: refused (422), draft kept, the textarea flagged.
    response = client.post(f"/afas/declarations/{did}", data=form(real, token, "transmit"))
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "justifiez" in body, re.findall(r"fr-alert[^>]*>\s*<p>([^<]*)", body)
    assert 'id="justification-TAUX-FACTURATION-107-error"' in body
    decl = db.session.get(Declaration, did)
    db.session.refresh(decl)
    assert decl.status == "brouillon" and decl.data["heures_realisees"] == "80000"

    # With the justification: transmitted, version 1 frozen.
    data = {**form(real, token, "transmit"), "justification_TAUX-FACTURATION-107": "Facturation à la demi-heure entamée."}
    response = client.post(f"/afas/declarations/{did}", data=data)
    assert response.status_code == 302
    db.session.refresh(decl)
    assert decl.status == "transmise" and len(decl.versions) == 1
    v1 = decl.versions[0]
    assert v1.content_hash == v1.compute_hash() and v1.user_id == w.manager.id
    assert v1.justifications == {"TAUX-FACTURATION-107": "Facturation à la demi-heure entamée."}
    assert v1.montant == expected.montant

    # Cannot transmit twice.
    again = client.post(f"/afas/declarations/{did}", data=data, follow_redirects=True)
    assert "plus modifiable" in again.get_data(as_text=True)
    db.session.refresh(decl)
    assert len(decl.versions) == 1

    # Receipt.
    pdf = client.get(f"/afas/declarations/{did}/accuse-1.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")

    # 2. ALSH prévisionnel 2027.
    alsh_id = create(client, w.alsh, 2027, "previsionnel")
    token = csrf(client, f"/afas/declarations/{alsh_id}")
    data = form(alsh(), token, "transmit")
    data["justification_EXCEDENT"] = "sans objet"   # kept only if the alert exists
    assert client.post(f"/afas/declarations/{alsh_id}", data=data).status_code == 302
    alsh_decl = db.session.get(Declaration, alsh_id)
    db.session.refresh(alsh_decl)
    assert alsh_decl.status == "transmise" and alsh_decl.versions[0].justifications == {}

    # 3. Agent: queue, review, request a correction on the EAJE réel.
    agent = app.test_client()
    login(w.agent, on=agent)
    queue = agent.get("/afas/instruction").get_data(as_text=True)
    assert f'data-id="{did}"' in queue and f'data-id="{alsh_id}"' in queue
    assert queue.index(f'data-id="{did}"') < queue.index(f'data-id="{alsh_id}"')   # sorted by deadline
    filtered = agent.get("/afas/instruction?alertes=1").get_data(as_text=True)
    assert f'data-id="{did}"' in filtered and f'data-id="{alsh_id}"' not in filtered
    review = agent.get(f"/afas/instruction/{did}").get_data(as_text=True)
    assert "Facturation à la demi-heure entamée." in review and "Prévisionnel 2025" in review
    token = csrf(agent, f"/afas/instruction/{did}")
    assert agent.post(f"/afas/instruction/{did}/prise-en-charge", data={"csrf_token": token}).status_code == 302
    refused = agent.post(f"/afas/instruction/{did}/correction", data={"csrf_token": token, "message": " "},
                         follow_redirects=True)
    assert "obligatoire" in refused.get_data(as_text=True)
    agent.post(f"/afas/instruction/{did}/correction",
               data={"csrf_token": token, "message": "Merci de revoir les heures facturées."})
    db.session.refresh(decl)
    assert decl.status == "a_corriger"

    # 4. Partner corrects: a new version, the change shown.
    page = client.get(f"/afas/declarations/{did}").get_data(as_text=True)
    assert "Merci de revoir les heures facturées." in page
    token = csrf(client, f"/afas/declarations/{did}")
    corrected = {**real, "heures_facturees": 84000, "participations_familiales": 120960}
    draft = client.post(f"/afas/declarations/{did}", data=form(corrected, token, "save"))
    assert draft.status_code == 302
    page = client.get(f"/afas/declarations/{did}").get_data(as_text=True)
    assert 'data-testid="afas-diff"' in page and 'data-field="heures_facturees"' in page
    refused = client.post(f"/afas/declarations/{did}", data=form(corrected, token, "transmit"))
    assert refused.status_code == 422 and 'data-testid="controle-ECART-REEL-PREVISIONNEL"' in refused.get_data(as_text=True)
    data = {**form(corrected, token, "transmit"), "justification_ECART-REEL-PREVISIONNEL": "Dix places de plus."}
    assert client.post(f"/afas/declarations/{did}", data=data).status_code == 302
    db.session.refresh(decl)
    assert decl.status == "transmise" and [v.numero for v in decl.versions] == [1, 2]
    assert decl.versions[0].data["heures_facturees"] == 88000   # version 1 untouched

    # 5. Agent validates: régularisation = droit réel − acomptes paid.
    token = csrf(agent, f"/afas/instruction/{did}")
    assert 'data-field="heures_facturees"' in agent.get(f"/afas/instruction/{did}").get_data(as_text=True)
    agent.post(f"/afas/instruction/{did}/validation", data={"csrf_token": token})
    db.session.refresh(decl)
    assert decl.status == "validee"
    droit_reel = compute_droit("EAJE", parse_declaration("EAJE", corrected).values, bareme(2025)).montant
    paid = sum(float(a.montant) for a in db.session.scalars(select(Acompte).where(
        Acompte.equipement_id == w.creche.id, Acompte.annee == 2025, Acompte.status == "verse")))
    prev_droit = w.prev.last_version.montant
    assert paid == round(prev_droit * 0.70, 2)
    assert float(decl.regularisation.solde) == round(droit_reel - paid, 2)
    for side in (agent.get(f"/afas/instruction/{did}"), client.get(f"/afas/declarations/{did}")):
        html = side.get_data(as_text=True)
        assert f'data-solde="{droit_reel - paid:.2f}"' in html and eur(droit_reel - paid) in html

    # ALSH prévisionnel validated: acomptes 70 % in two instalments.
    token = csrf(agent, f"/afas/instruction/{alsh_id}")
    agent.post(f"/afas/instruction/{alsh_id}/validation", data={"csrf_token": token})
    db.session.refresh(alsh_decl)
    assert alsh_decl.status == "validee"
    montants = [float(a.montant) for a in alsh_decl.acomptes]
    assert len(montants) == 2 and round(sum(montants), 2) == round(alsh_decl.droit * 0.70, 2)
    assert 'data-testid="afas-acomptes"' in client.get(f"/afas/declarations/{alsh_id}").get_data(as_text=True)

    # Every action is in the timeline and the audit chain, with its author.
    actions = [e.action for e in decl.events]
    assert actions[:4] == ["creee", "transmise", "prise_en_charge", "message"]
    assert {"correction_demandee", "validee", "regularisation_calculee"} <= set(actions)
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.target == f"declaration:{did}")).all()
    assert any(a.action == "validee" and a.actor_user_id == w.agent.id for a in audit)

    # Exports: every field, control and justification.
    csv_text = agent.get("/afas/instruction/export.csv").get_data(as_text=True)
    assert "Dix places de plus." in csv_text
    assert "TAUX-FACTURATION-107" in csv_text and "Heures facturées" in csv_text
    xlsx = agent.get("/afas/instruction/export.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.data), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    row = next(r for r in rows[1:] if r[0] == did)
    assert row[header.index("Droit calculé (€)")] == droit_reel
    assert row[header.index("Heures facturées")] == 84000
    assert row[header.index("Régularisation (€)")] == round(droit_reel - paid, 2)
