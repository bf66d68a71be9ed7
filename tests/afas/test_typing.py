"""The form's feedback and automatic draft save (issue 19, « rien de ce qui est saisi n'est
perdu »): autosave endpoint, blocking cross-field checks at their field, sums of the lines."""
import re
from datetime import timezone

from afas import services
from afas.controles import evaluate, line_sums
from portal.dates import PARIS
from portal.extensions import db

from .conftest import csrf
from .helpers import bareme, eaje


def _autosave(client, decl, **data):
    token = csrf(client, f"/afas/declarations/{decl.id}")
    return client.post(f"/afas/declarations/{decl.id}/brouillon", data={**data, "csrf_token": token})


def test_autosave_keeps_what_was_typed_and_says_when_in_paris_time(client, login, afas_world):
    w = afas_world
    decl = services.create_declaration(w.creche, 2026, "previsionnel", w.manager)
    login(w.manager)
    response = _autosave(client, decl, **eaje(heures_realisees="8000a"), justification_EXCEDENT="les familles")
    assert response.status_code == 200
    db.session.refresh(decl)
    assert decl.data["heures_realisees"] == "8000a" and decl.justifications == {"EXCEDENT": "les familles"}
    at = decl.updated_at.replace(tzinfo=timezone.utc).astimezone(PARIS)
    assert response.json["message"] == f"Brouillon enregistré à {at.hour} h {at.minute:02d}"
    assert re.fullmatch(r"Brouillon enregistré à \d{1,2} h \d\d", response.json["message"])


def test_autosave_refusals_are_clear(client, login, afas_world):
    w = afas_world
    decl = services.create_declaration(w.creche, 2026, "previsionnel", w.manager)
    login(w.manager)
    too_long = _autosave(client, decl, **eaje(), justification_EXCEDENT="x" * 2001)
    assert too_long.status_code == 422 and too_long.json["message"].startswith("Brouillon non enregistré")
    sent = _autosave(client, w.prev, **eaje())
    assert sent.status_code == 409 and sent.json["message"].startswith("Brouillon non enregistré")
    login(w.other_manager)
    assert _autosave(client, decl, **eaje()).status_code == 404
    login(w.agent)
    token = csrf(client, "/accueil")
    assert client.post(f"/afas/declarations/{decl.id}/brouillon", data={"csrf_token": token}).status_code == 403


def test_cross_field_checks_are_shown_at_their_field(client, login, afas_world):
    w = afas_world
    ev = evaluate("EAJE", "previsionnel", eaje(c61="500"), bareme(2025))
    assert "diffère de la somme" in ev.field_messages["total_charges"]
    assert line_sums(ev.parsed.values)["total_charges"] == 864500.0
    decl = services.create_declaration(w.creche, 2026, "previsionnel", w.manager)
    services.save_draft(decl, eaje(c61="500"), {}, w.manager)
    login(w.manager)
    page = client.get(f"/afas/declarations/{decl.id}").get_data(as_text=True)
    assert re.search(r'<div id="f-total_charges-error" class="afas-field-error"><p class="fr-error-text">'
                     r"Le total déclaré \(864\u202f000,00 €\) diffère", page)
    assert re.search(r'id="f-total_charges"[^>]*aria-invalid="true"', page)
    assert 'data-testid="afas-somme-total_charges" data-value="864500.00"' in page
    token = csrf(client, f"/afas/declarations/{decl.id}")
    preview = client.post(f"/afas/declarations/{decl.id}/apercu", data={**eaje(c61="500"), "csrf_token": token})
    assert re.search(r'<div id="f-total_charges-error" class="afas-field-error" hx-swap-oob="true" '
                     r'data-invalid="1"><p class="fr-error-text">Le total déclaré', preview.get_data(as_text=True))
