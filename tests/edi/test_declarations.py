"""Web declarations of the espace bailleur: access role by role, drafts, errors at the field,
summary, sending with the EDI effects (rent history, movement ending tiers payant, unpaid-rent
report opening the social workers' queue item), the signed PDF receipt, attachments, and the
Caf's one history per tenancy whatever the channel."""
from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from edi.declarations.models import DeclarationBailleur
from portal.dates import add_months
from portal.dates import today as paris_today
from portal.extensions import db

PDF = b"%PDF-1.4\n% relance\n%%EOF\n"


@pytest.fixture
def private(factory):
    """A private landlord: an organisation of one, no SIRET, only the BAILLEUR service."""
    return factory.organisation("bailleur", services={"BAILLEUR": []}, nom="Jean Dupuis", siret=None)


@pytest.fixture
def owner(factory, private):
    return factory.user(private, role="bailleur_operator", habilitations={"BAILLEUR": None})


@pytest.fixture
def tenant(private):
    """Tenant of `private`: rent 500 € + 80 € charges, APL 250 € in tiers payant (threshold 660 €)."""
    from tests.cdap.conftest import make_allocataire, make_droit, make_logement
    a = make_allocataire(numero="7300001", nom="Lefèvre")
    make_logement(a, private.code_bailleur, "P0001", loyer=50000, charges=8000, tiers_payant=True,
                  date_entree=date(2020, 1, 1))
    make_droit(a, "APL", 25000)
    db.session.commit()
    return a


def csrf(client, path):
    from tests.support.factories import csrf_token
    return csrf_token(client, path)


def impaye_form(**over):
    today = paris_today()
    start = add_months(today.replace(day=1), -3)
    form = {"nom": "LEFEVRE", "numero_allocataire": "7300001", "code_locataire": "",
            "adresse": "14 rue Jules Barni, 80000 Amiens", "loyer": "500", "charges": "80,00",
            "dette": "1 740,00", "periode_debut": start.isoformat(),
            "periode_fin": (today.replace(day=1) - timedelta(days=1)).isoformat(),
            "date_constitution": add_months(start, 2).isoformat(), "nb_relances": "2",
            "derniere_relance": (today - timedelta(days=3)).isoformat(), "plan_apurement": "oui",
            "action": "verifier"}
    form.update(over)
    return form


def post(client, path, form, page=None):
    return client.post(path, data={"csrf_token": csrf(client, page or path), **form})


@pytest.mark.parametrize("role, habilitations, services, expected", [
    ("bailleur_operator", {"BAILLEUR": None}, {"BAILLEUR": []}, 200),
    ("bailleur_operator", {"EDI": None}, {"EDI": [], "BAILLEUR": []}, 403),   # no BAILLEUR habilitation
    ("bailleur_operator", {"BAILLEUR": None}, {"EDI": []}, 403),               # no BAILLEUR contract
    ("partner_admin", {}, {"BAILLEUR": []}, 403),
    ("travailleur_social", {"CDAP": "travailleur_social"}, {"BAILLEUR": [], "CDAP": ["travailleur_social"]}, 403),
])
def test_declaration_pages_access_by_role(factory, login, client, role, habilitations, services, expected):
    org = factory.organisation("bailleur", services=services)
    login(factory.user(org, role=role, habilitations=habilitations))
    for path in ("/bailleur/declarations", "/bailleur/declarations/nouvelle/impaye"):
        assert client.get(path).status_code == expected


def test_caf_pages_are_for_caf_agents_only(factory, login, client, owner):
    login(owner)
    assert client.get("/caf/declarations-bailleurs").status_code == 403
    client.get("/deconnexion")
    agent = factory.user(factory.caf(), role="caf_agent", habilitations={"EDI": None})
    login(agent, on=client)
    assert client.get("/caf/declarations-bailleurs").status_code == 200


def test_an_unpaid_rent_sent_by_form_opens_the_queue_item_and_gets_a_signed_receipt(
        app, login, client, owner, private, tenant):
    from cdap.models import ImpayeQueueItem, SignalementImpaye
    login(owner)
    response = post(client, "/bailleur/declarations/nouvelle/impaye", impaye_form())
    assert response.status_code == 303 and response.headers["Location"].endswith("/recapitulatif")
    d = db.session.scalar(select(DeclarationBailleur))
    assert d.statut == "BROUILLON"
    summary = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Récapitulatif avant envoi" in summary and "740,00" in summary and "P0001" in summary
    # Nothing reaches CDAP before sending
    assert db.session.scalar(select(SignalementImpaye)) is None

    sent = post(client, f"/bailleur/declarations/{d.id}/envoyer", {}, page=response.headers["Location"])
    assert sent.status_code == 303
    db.session.expire_all()
    d = db.session.get(DeclarationBailleur, d.id)
    assert (d.statut, d.code, d.severite) == ("ENVOYEE", "ENREGISTREMENT_ACCEPTE", "INFORMATION")
    assert (d.code_locataire, d.numero_allocataire) == ("P0001", "7300001")
    s = db.session.scalar(select(SignalementImpaye))
    assert (s.montant_dette_cents, s.loyer_mensuel_cents, s.plan_apurement, s.date_signalement) == \
        (174000, 58000, True, paris_today())
    assert s.idempotency_key == f"WEB:{private.code_bailleur}:{d.id}" and s.source.startswith("Formulaire WEB-")
    item = db.session.scalar(select(ImpayeQueueItem).where(ImpayeQueueItem.impaye_id == s.id))
    assert item is not None and item.statut == "plan_apurement"

    page = client.get(f"/bailleur/declarations/{d.id}").get_data(as_text=True)
    assert "Prise en compte" in page and "accuse.pdf" in page
    pdf = client.get(f"/bailleur/declarations/{d.id}/accuse.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert pdf.headers["Cache-Control"] == "no-store"
    assert "accuse-WEB-" in pdf.headers["Content-Disposition"]
    assert client.get(f"/bailleur/declarations/{d.id}/accuse.pdf").data == pdf.data  # stored once
    signature = client.get(f"/bailleur/declarations/{d.id}/accuse.p7s").data
    from .test_pipeline import verify_caf_signature
    verify_caf_signature(app, pdf.data, signature)  # signed by the Caf, like the ACCUSE
    # Sent: no more changes, no second send
    again = post(client, f"/bailleur/declarations/{d.id}/envoyer", {}, page=f"/bailleur/declarations/{d.id}")
    assert again.status_code == 303
    assert db.session.query(SignalementImpaye).count() == 1


def test_errors_are_shown_at_their_field_and_nothing_is_sent(login, client, owner, tenant):
    from cdap.models import SignalementImpaye
    login(owner)
    response = post(client, "/bailleur/declarations/nouvelle/impaye",
                    impaye_form(dette="300", loyer="", nom="Lefèvre"))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="champ-loyer-error"' in page and "Loyer mensuel hors charges" in page
    # Once typed correctly, the rule R824-1 speaks at the debt's field
    d = db.session.scalar(select(DeclarationBailleur))
    response = post(client, f"/bailleur/declarations/{d.id}", impaye_form(dette="300"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="champ-dette-error"' in page and "R824-1" in page and "660,00" in page
    assert db.session.scalar(select(SignalementImpaye)) is None
    # A tenant not known under this name: at the tenant's field, without saying whether the numéro exists
    response = post(client, f"/bailleur/declarations/{d.id}", impaye_form(nom="Martin"))
    assert response.status_code == 400 and 'id="champ-numero_allocataire-error"' in response.get_data(as_text=True)


def test_a_draft_is_kept_as_typed_and_can_be_deleted(login, client, owner, tenant):
    login(owner)
    response = post(client, "/bailleur/declarations/nouvelle/loyer",
                    {"nom": "Lefèvre", "loyer": "5x", "action": "brouillon"})
    assert response.status_code == 303
    d = db.session.scalar(select(DeclarationBailleur))
    assert d.statut == "BROUILLON" and d.saisie["loyer"] == "5x"
    listing = client.get("/bailleur/declarations").get_data(as_text=True)
    assert "Brouillon" in listing and d.reference in listing
    assert 'value="5x"' in client.get(f"/bailleur/declarations/{d.id}").get_data(as_text=True)
    post(client, f"/bailleur/declarations/{d.id}/supprimer", {}, page=f"/bailleur/declarations/{d.id}")
    assert db.session.scalar(select(DeclarationBailleur)) is None


def test_a_late_report_is_sent_with_the_r824_4_warning(login, client, owner, tenant):
    login(owner)
    old = add_months(paris_today(), -4)
    post(client, "/bailleur/declarations/nouvelle/impaye",
         impaye_form(periode_debut=add_months(old, -2).isoformat(), date_constitution=old.isoformat()))
    d = db.session.scalar(select(DeclarationBailleur))
    summary = client.get(f"/bailleur/declarations/{d.id}/recapitulatif").get_data(as_text=True)
    assert 'data-testid="declaration-warnings"' in summary and "R824-4" in summary
    post(client, f"/bailleur/declarations/{d.id}/envoyer", {}, page=f"/bailleur/declarations/{d.id}/recapitulatif")
    db.session.expire_all()
    d = db.session.get(DeclarationBailleur, d.id)
    assert (d.statut, d.code, d.severite) == ("ENVOYEE", "IMPAYE_SIGNALE_TARDIVEMENT", "AVERTISSEMENT")
    assert "avec avertissement" in client.get("/bailleur/declarations").get_data(as_text=True)


def test_an_exit_by_form_ends_tiers_payant_at_its_date(login, client, owner, tenant):
    from cdap.models import Logement
    login(owner)
    day = paris_today() - timedelta(days=2)
    post(client, "/bailleur/declarations/nouvelle/mouvement",
         {"nom": "Lefèvre", "code_locataire": "P0001", "type": "SORTIE", "date_mouvement": day.isoformat(),
          "action": "verifier"})
    d = db.session.scalar(select(DeclarationBailleur))
    post(client, f"/bailleur/declarations/{d.id}/envoyer", {}, page=f"/bailleur/declarations/{d.id}/recapitulatif")
    logement = db.session.scalar(select(Logement).where(Logement.code_locataire == "P0001"))
    db.session.refresh(logement)
    assert (logement.date_sortie, logement.tiers_payant) == (day, False)


def test_the_july_rent_by_form_becomes_the_current_rent(login, client, owner, tenant):
    from cdap.loyers import current_rent
    from cdap.models import Logement
    login(owner)
    july = paris_today().replace(month=7, day=1)
    post(client, "/bailleur/declarations/nouvelle/loyer",
         {"nom": "Lefèvre", "numero_allocataire": "7300001", "loyer": "512,40", "charges": "80",
          "date_effet": july.isoformat(), "action": "verifier"})
    d = db.session.scalar(select(DeclarationBailleur))
    post(client, f"/bailleur/declarations/{d.id}/envoyer", {}, page=f"/bailleur/declarations/{d.id}/recapitulatif")
    logement = db.session.scalar(select(Logement).where(Logement.code_locataire == "P0001"))
    assert current_rent(logement)["loyer_cents"] == 51240


def test_attachments_are_checked_stored_by_content_and_downloaded(login, client, owner, tenant, monkeypatch):
    from edi.declarations import services
    monkeypatch.setattr(services, "MAX_PIECE_BYTES", 1024)  # 5 Mo in production: a small body here
    login(owner)
    post(client, "/bailleur/declarations/nouvelle/impaye", impaye_form(action="brouillon"))
    d = db.session.scalar(select(DeclarationBailleur))
    path = f"/bailleur/declarations/{d.id}"

    def upload(data, name, nature="relance"):
        return client.post(f"{path}/pieces", data={"csrf_token": csrf(client, path), "nature": nature,
                                                    "piece": (io.BytesIO(data), name)},
                           content_type="multipart/form-data")

    assert upload(PDF, "relance 1.pdf").status_code == 303
    assert upload(b"MZ\x90\x00 not a pdf", "relance.pdf").status_code == 303  # refused: type by content
    assert upload(b"%PDF-" + b"x" * 1100, "gros.pdf").status_code == 303  # refused: size
    db.session.expire_all()
    d = db.session.get(DeclarationBailleur, d.id)
    [piece] = d.pieces
    import hashlib
    assert piece.sha256 == hashlib.sha256(PDF).hexdigest() and piece.type_mime == "application/pdf"
    got = client.get(f"{path}/pieces/{piece.id}")
    assert got.data == PDF and got.headers["Cache-Control"] == "no-store"
    flashes = client.get(path).get_data(as_text=True)
    assert "relance 1.pdf" in flashes


def test_another_landlords_declaration_answers_404(factory, login, client, owner, tenant):
    login(owner)
    post(client, "/bailleur/declarations/nouvelle/impaye", impaye_form(action="brouillon"))
    d = db.session.scalar(select(DeclarationBailleur))
    other = factory.organisation("bailleur", services={"BAILLEUR": []})
    client.get("/deconnexion")
    login(factory.user(other, role="bailleur_operator", habilitations={"BAILLEUR": None}), on=client)
    assert client.get(f"/bailleur/declarations/{d.id}").status_code == 404
    assert client.get(f"/bailleur/declarations/{d.id}/recapitulatif").status_code == 404


def test_the_caf_sees_one_history_per_tenancy_whatever_the_channel(
        factory, login, client, owner, private, tenant):
    from edi import adapters
    login(owner)
    post(client, "/bailleur/declarations/nouvelle/impaye", impaye_form())
    d = db.session.scalar(select(DeclarationBailleur))
    post(client, f"/bailleur/declarations/{d.id}/envoyer", {}, page=f"/bailleur/declarations/{d.id}/recapitulatif")
    # The same landlord also sends a rent by EDI (its software): same tenancy, other channel
    adapters.apply("LOYERS", private.code_bailleur, [
        {"idempotency_key": "EDI:X:F1:R1", "code_locataire": "P0001", "numero_allocataire": "7300001",
         "loyer_cents": 51000, "charges_cents": 8000, "nb_colocataires": 0, "date_effet": date(2026, 7, 1)}],
        "EDI fichier 1 (LOYERS F1)")
    db.session.commit()
    client.get("/deconnexion")
    agent = factory.user(factory.caf(), role="caf_agent", habilitations={"EDI": None})
    login(agent, on=client)
    assert d.reference in client.get("/caf/declarations-bailleurs").get_data(as_text=True)
    page = client.get(f"/caf/declarations-bailleurs/{d.id}").get_data(as_text=True)
    assert page.count('data-testid="history-row"') == 2
    assert 'data-canal="EDI"' in page and 'data-canal="formulaire"' in page
    assert client.get(f"/caf/declarations-bailleurs/{d.id}/accuse.pdf").data.startswith(b"%PDF")


def test_the_lists_page_search_and_sort_every_declaration(factory, login, client, owner, private):
    """More than a page of declarations: every one reachable by numbered pages (no « page
    suivante » dead end), searchable by tenant code, sortable; the Caf's list the same way."""
    from portal.models import utcnow
    now = utcnow()
    for i in range(55):
        db.session.add(DeclarationBailleur(organisation_id=private.id, acte="IMPAYE", statut="ENVOYEE",
                                           saisie={"nom": f"LOCATAIRE {i:02d}"}, code_bailleur=private.code_bailleur,
                                           code_locataire=f"L{i:04d}", numero_allocataire=f"74{i:05d}",
                                           modifie_le=now - timedelta(minutes=i), envoye_le=now - timedelta(minutes=i)))
    db.session.commit()
    login(owner)
    first = client.get("/bailleur/declarations").get_data(as_text=True)
    assert 'data-total="55"' in first and "page 1 sur 2" in first and "<td>LOCATAIRE 00</td>" in first and "<td>LOCATAIRE 54</td>" not in first
    second = client.get("/bailleur/declarations?page=2").get_data(as_text=True)
    assert "<td>LOCATAIRE 54</td>" in second and "<td>LOCATAIRE 49</td>" not in second and 'aria-current="page"' in second
    found = client.get("/bailleur/declarations?q=L0042").get_data(as_text=True)
    assert 'data-total="1"' in found and "<td>LOCATAIRE 42</td>" in found
    oldest_first = client.get("/bailleur/declarations?tri=modifiee&sens=asc").get_data(as_text=True)
    assert oldest_first.index("LOCATAIRE 54") < oldest_first.index("LOCATAIRE 53")
    nothing = client.get("/bailleur/declarations?q=ZZZ").get_data(as_text=True)
    assert "Aucune déclaration ne correspond à cette recherche." in nothing
    client.get("/deconnexion")
    login(factory.user(factory.caf(), role="caf_agent", habilitations={"EDI": None}), on=client)
    caf = client.get("/caf/declarations-bailleurs?q=Dupuis&page=2").get_data(as_text=True)
    assert 'data-total="55"' in caf and "page 2 sur 2" in caf and "<td>LOCATAIRE 54 (7400054)</td>" in caf
    assert client.get("/caf/declarations-bailleurs?page=x").status_code == 400
