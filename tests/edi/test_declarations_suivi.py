"""« Suivi de votre signalement » on a private landlord's unpaid-rent declaration: received,
plan (none / proposed / agreed with its amount and duration), maintien de l'aide and its date,
read through cdap.interface_edi.suivi_signalement — never the family's notes, budget nor the
reason of the Caf's decision."""
from __future__ import annotations

import html
from datetime import date

import pytest
from sqlalchemy import select

from edi.declarations.models import DeclarationBailleur
from portal.dates import today as paris_today
from portal.extensions import db

from .test_declarations import impaye_form, owner, post, private, tenant  # noqa: F401 (fixtures)

SECRETS = ("NOTE-CONFIDENTIELLE", "MOTIF-CONFIDENTIEL", "RDV-CONFIDENTIEL", "Diagnostic budgétaire",
           "1 234,56", "Reste à vivre", "Notes")


@pytest.fixture
def sent(login, client, owner, tenant):  # noqa: F811
    """The owner's unpaid-rent declaration, sent without a plan (« plan_apurement »: non)."""
    login(owner)
    draft = post(client, "/bailleur/declarations/nouvelle/impaye", impaye_form(plan_apurement="non"))
    d = db.session.scalar(select(DeclarationBailleur))
    post(client, f"/bailleur/declarations/{d.id}/envoyer", {}, page=draft.headers["Location"])
    db.session.expire_all()
    d = db.session.get(DeclarationBailleur, d.id)
    assert d.statut == "ENVOYEE"
    return d


@pytest.fixture
def case(factory, sent):
    """The social worker's case on it, with notes and a household budget."""
    from cdap.models import ImpayeQueueItem, SignalementImpaye
    from cdap.situations import services
    worker = factory.user(factory.caf(), role="caf_agent")
    item = db.session.scalar(select(ImpayeQueueItem).join(SignalementImpaye)
                             .where(SignalementImpaye.idempotency_key == sent.idempotency_key))
    situation = services.take_case(item, worker)
    services.record_contact(situation, worker, on=paris_today(), canal="telephone", resultat="joint",
                            note="NOTE-CONFIDENTIELLE : dettes auprès de plusieurs créanciers")
    services.save_diagnostic(situation, worker, ressources_cents=123456, charges_cents=65432, personnes=3,
                             droits=["eligibilite_fsl"], capacite="partielle")
    db.session.commit()
    return situation, worker


def page(client, d) -> str:
    response = client.get(f"/bailleur/declarations/{d.id}")
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def assert_private(text: str) -> None:
    text = text.replace("\u202f", " ").replace("\xa0", " ")
    for secret in SECRETS:
        assert secret not in text, secret


def test_received_only(client, sent):
    text = page(client, sent)
    assert "Suivi de votre signalement" in text
    assert f"Signalement reçu le</dt><dd data-field=\"suivi.recu\">{paris_today():%d/%m/%Y}" in text
    assert "Aucun plan d'apurement" in text
    assert "Aide maintenue, décision de la Caf à venir" in text
    assert "décision du" not in text
    assert_private(text)


def test_plan_proposed(client, sent, case):
    from cdap.situations import services
    situation, worker = case
    services.add_action(situation, worker, type="plan_apurement", on=paris_today(), montant_mensuel_cents=6000,
                        duree_mois=10, debut=paris_today().replace(day=1), accord_bailleur=False)
    db.session.commit()
    text = page(client, sent)
    assert "Plan d'apurement proposé" in text
    assert "par mois" not in text  # amounts only once the landlord agreed the plan
    assert "Aide maintenue, décision de la Caf à venir" in text
    assert_private(text)


def test_plan_agreed_and_aid_maintained(client, sent, case):
    from cdap.situations import services
    situation, worker = case
    services.add_action(situation, worker, type="plan_apurement", on=paris_today(), montant_mensuel_cents=6000,
                        duree_mois=10, debut=paris_today().replace(day=1), accord_bailleur=True)
    services.add_rdv(situation, worker, at=situation.taken_at, modalite="telephone", note="RDV-CONFIDENTIEL")
    services.decide_maintien(situation, worker, decision="maintien", motif="MOTIF-CONFIDENTIEL",
                             on=date(2026, 11, 30))
    db.session.commit()
    text = page(client, sent)
    assert "Plan d'apurement convenu, accord du bailleur enregistré : 60,00 € par mois pendant 10 mois" in \
        text.replace("\u202f", " ").replace("\xa0", " ")
    assert "Aide maintenue, décision du 30/11/2026" in text
    assert_private(text)


def test_interface_returns_only_the_landlord_fields(sent, case):
    from cdap import interface_edi
    suivi = interface_edi.suivi_signalement(sent.code_bailleur, sent.idempotency_key)
    assert set(suivi) == {"recu", "plan", "maintien_aide"}
    assert set(suivi["maintien_aide"]) == {"decision", "libelle", "le"}
    # another landlord's code never reads it
    assert interface_edi.suivi_signalement("AUTRE", sent.idempotency_key) is None


def test_another_landlords_declaration_answers_404(factory, login, client, sent):
    client.get("/deconnexion")
    other = factory.organisation("bailleur", services={"BAILLEUR": []})
    login(factory.user(other, role="bailleur_operator", habilitations={"BAILLEUR": None}), on=client)
    assert client.get(f"/bailleur/declarations/{sent.id}").status_code == 404
