"""GET is safe: no GET request writes to the database, for every GET route and every role.

Walks the URL map like test_role_routes.py: each of the six roles (plus a user between password and
code, one who must still enrol a second factor, and an anonymous visitor) requests every GET route
without parameters, the routes with parameters filled from objects of the partner organisation
(PARAM_URLS) and a few query strings (QUERY_URLS). API routes are requested with a bearer token
too. After
each request the database must be exactly as it was before: for every table, the row count and a
hash of all its rows (ordered by primary key).

Only writes that a request *commits* count: the request's uncommitted work is rolled back at the
end of the request anyway (its SAVEPOINT, in this rolled-back test transaction).
"""
from __future__ import annotations

import hashlib
import io
from datetime import date, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from portal.access import is_static_endpoint
from portal.extensions import db
from portal.models import ALL_ROLES

ROLES = sorted(ALL_ROLES)
CDAP_PROFILE = {"partner_manager": "quotient_familial", "partner_admin": "bailleur",
                "bailleur_operator": "bailleur", "travailleur_social": "travailleur_social",
                "caf_agent": "agent_caf", "caf_admin": "agent_caf"}

# The rate limiter is off in the tests (RATELIMIT_ENABLED=0, tests/support/plugin.py); it counts in
# memory or Redis anyway, never in the database.
# Columns a GET may legitimately touch, left out of the fingerprint:
# - user_sessions.last_seen_at: the idle timeout's clock, refreshed at most once a minute by
#   portal/accounts/sessions.py::load_user_from_session (the intended exception);
# - api_tokens.last_used_at: the same once-a-minute "last used" stamp for bearer tokens
#   (portal/api.py::authenticate_bearer), shown to the partner admin.
VOLATILE = {("user_sessions", "last_seen_at"), ("api_tokens", "last_used_at")}

# Routes with parameters: endpoint -> URL built from the world (None: not requested, and why).
PARAM_URLS = {
    # Each read of a case writes its row in the chained CDAP journal (a mandated trace, like a
    # consultation): tests/cdap/situations/test_privacy.py checks who may read it and the trace.
    "cdap.situation": None,
    "partner_admin.user_detail": lambda w: f"/administration/utilisateurs/{w.target.id}",
    "caf_admin.organisation": lambda w: f"/caf/administration/organisations/{w.partner.id}",
    "afas.equipement": lambda w: f"/afas/equipements/{w.equipement.id}",
    "afas.declaration": lambda w: f"/afas/declarations/{w.declaration.id}",
    "afas.receipt": lambda w: f"/afas/declarations/{w.declaration.id}/accuse-1.pdf",
    "afas.review": lambda w: f"/afas/instruction/{w.declaration.id}",
    "afas.attachment_download": lambda w: f"/afas/declarations/{w.declaration.id}/pieces/{w.afas_piece.id}",
    "afas.export": lambda w: "/afas/instruction/export.csv",
    "afas.equipement_caf": lambda w: f"/afas/caf/equipements/{w.equipement.id}",
    "afas.convention_document": lambda w: f"/afas/conventions/{w.equipement.conventions[0].id}/document",
    "afas.bareme_versions": lambda w: "/afas/baremes/2025/versions",
    # No payment order in this world (tests/afas/paiement builds them): the lookup path is requested.
    "afas.paiement_ordre": lambda w: "/afas/paiements/ordres/999999",
    "afas.paiement_ordre_download": lambda w: "/afas/paiements/ordres/999999.xml",
    "afas.paiement_partenaire_export": lambda w: "/afas/mes-paiements.csv",
    "afas.coordonnees_edit": lambda w: f"/afas/paiements/coordonnees/{w.equipement.organisation_id}",
    "edi.file_detail": lambda w: f"/edi/fichiers/{w.fichier.id}",
    "edi.file_status": lambda w: f"/edi/fichiers/{w.fichier.id}/statut",
    "edi.file_download": lambda w: f"/edi/fichiers/{w.fichier.id}/telecharger/fichier",
    "edi.avis_download": lambda w: f"/edi/avis-paiement/{w.avis.id}/fichier",
    "edi_decl.new": lambda w: "/bailleur/declarations/nouvelle/impaye",
    "edi_decl.edit": lambda w: f"/bailleur/declarations/{w.sent.id}",
    "edi_decl.summary": lambda w: f"/bailleur/declarations/{w.draft.id}/recapitulatif",
    "edi_decl.piece": lambda w: f"/bailleur/declarations/{w.sent.id}/pieces/{w.piece.id}",
    "edi_decl.receipt": lambda w: f"/bailleur/declarations/{w.sent.id}/accuse.pdf",
    "edi_decl.caf_detail": lambda w: f"/caf/declarations-bailleurs/{w.sent.id}",
    "edi_decl.caf_piece": lambda w: f"/caf/declarations-bailleurs/{w.sent.id}/pieces/{w.piece.id}",
    "edi_decl.caf_receipt": lambda w: f"/caf/declarations-bailleurs/{w.sent.id}/accuse.pdf",
    "edi_certs.detail": lambda w: f"/edi/certificats/{w.certificate.id}",
    "edi_certs.download": lambda w: f"/edi/certificats/{w.certificate.id}/certificat.pem",
    "api.api_get": lambda w: f"/api/v1/afas/declarations/{w.declaration.id}",
    "api.edi_avis_download": lambda w: f"/api/v1/edi/avis-paiement/{w.avis.id}",
    "api.edi_avis_signature": lambda w: f"/api/v1/edi/avis-paiement/{w.avis.id}.p7s",
    "api.edi_file_status": lambda w: f"/api/v1/edi/fichiers/{w.fichier.id}",
    "api.edi_file_accuse": lambda w: f"/api/v1/edi/fichiers/{w.fichier.id}/accuse",
    "api.edi_file_accuse_signature": lambda w: f"/api/v1/edi/fichiers/{w.fichier.id}/accuse.p7s",
    "api.edi_file_anomalies": lambda w: f"/api/v1/edi/fichiers/{w.fichier.id}/anomalies",
    "afas.static": None,  # static files of the AFAS blueprint
}
# Parameterless routes also requested with a query string that makes them do more.
QUERY_URLS = {
    "accounts.reset_confirm": lambda w: f"/mot-de-passe-oublie/nouveau?token={w.reset_token}",
    "afas.export": lambda w: "/afas/instruction/export.xlsx",
    "cdap.allocataire_journal": lambda w: "/cdap/journal/allocataire?numero=8000001",
}


def fingerprint() -> dict[str, tuple[int, str]]:
    """table -> (row count, SHA-256 of every row ordered by primary key), read on the test's
    connection (so it sees what the requests committed to their SAVEPOINTs)."""
    out = {}
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if (table.name, c.name) not in VOLATILE]
        rows = db.session.execute(select(*columns).order_by(*table.primary_key.columns)).all()
        out[table.name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return out


def _changes(before: dict, after: dict) -> str:
    return ", ".join(f"{name} ({before[name][0]} -> {after[name][0]} lignes)"
                     for name in before if before[name] != after[name])


@pytest.fixture
def world(app, factory, client):
    """test_role_routes' world (a partner organisation with every contract, the Caf, one signed-in
    user per role with every habilitation its organisation allows) plus one object of the partner
    for each kind of URL parameter."""
    from afas import services as afas_services
    from afas.models import ConventionFinancement, Equipement
    from edi import services as edi_services
    from edi.intake import storage
    from edi.models import EdiAvisPaiement
    from portal.accounts.services import issue_reset_token
    from tests.afas.helpers import eaje
    from tests.support.edi_files import Signer

    partner = factory.organisation("bailleur", services={
        "AFAS": [], "EDI": [], "BAILLEUR": [], "CDAP": ["quotient_familial", "bailleur", "travailleur_social"]})
    caf = factory.caf()
    clients, users = {}, {}
    for role in ROLES:
        user = factory.user(caf if role.startswith("caf_") else partner, role=role, habilitations={
            "AFAS": None, "EDI": None, "BAILLEUR": None, "CDAP": CDAP_PROFILE[role]})
        clients[role], users[role] = app.test_client(), user
        factory.sign_in(clients[role], user)
    # Half-way through signing in: password given, code not yet; second factor still to enrol.
    clients["code_attendu"] = app.test_client()
    factory.sign_in(clients["code_attendu"], factory.user(caf, role="caf_admin"), mfa=False)
    clients["a_enroler"] = app.test_client()
    factory.sign_in(clients["a_enroler"], factory.user(partner, role="partner_admin", mfa=False), mfa=False)
    clients["anonyme"] = app.test_client()
    target = factory.user(partner, role="partner_manager", habilitations={"AFAS": None})

    equipement = Equipement(organisation_id=partner.id, type="EAJE", nom="Crèche des tests",
                            numero=f"EAJE-G{partner.id}")
    db.session.add(equipement)
    db.session.flush()
    db.session.add(ConventionFinancement(equipement_id=equipement.id, reference="COF-G", debut=date(2020, 1, 1),
                                         fin=date(2030, 12, 31), signee_le=date(2020, 1, 1), document=b"%PDF-1.4",
                                         document_nom="cof.pdf", document_sha256="0" * 64))
    db.session.flush()
    declaration = afas_services.create_declaration(equipement, 2025, "previsionnel", users["partner_manager"])
    afas_services.save_draft(declaration, eaje(), {}, users["partner_manager"])
    afas_services.transmit(declaration, users["partner_manager"], now=datetime(2025, 1, 10, 9, 0))
    afas_piece = afas_services.post_message(declaration, users["partner_manager"], "Justificatif",
                                            files=[("piece.pdf", io.BytesIO(b"%PDF-1.4 justificatif"))]).attachments[0]

    fichier = edi_services.receive_file(partner, io.BytesIO(b"<?xml version='1.0'?><Loyers/>"), "loyers.xml",
                                        io.BytesIO(b"sig"), canal="portail", user=users["bailleur_operator"])
    stored, signature = storage.store_bytes(b"<AvisPaiement/>"), storage.store_bytes(b"avis-sig")
    avis = EdiAvisPaiement(organisation_id=partner.id, annee=2025, mois=1, identifiant_fichier="AVIS-G-1",
                           sha256=stored.sha256, taille=stored.size, signature_sha256=signature.sha256,
                           nb_paiements=0, montant_total_cents=0)
    db.session.add(avis)
    certificate = Signer(app, partner).registered
    sent, draft, piece = _web_declarations(partner, users["bailleur_operator"], stored, signature)
    _token, raw_token = factory.api_token(partner, users["partner_admin"], scopes=["AFAS", "EDI", "CDAP"],
                                          profil="bailleur")
    reset_token = issue_reset_token(target, minutes=30)
    db.session.commit()  # releases the fixture's SAVEPOINT: the requests see everything
    return SimpleNamespace(
        partner=partner, caf=caf, clients=clients, users=users, target=target, equipement=equipement,
        declaration=declaration, afas_piece=afas_piece, fichier=fichier, avis=avis,
        certificate=certificate, sent=sent, draft=draft, piece=piece,
        api_headers={"Authorization": f"Bearer {raw_token}"}, reset_token=reset_token)


def _web_declarations(partner, user, stored, signature):
    """A sent web declaration of the espace bailleur with an attachment, and a draft."""
    from edi.declarations.models import DeclarationBailleur, PieceDeclaration
    sent = DeclarationBailleur(
        organisation_id=partner.id, acte="IMPAYE", statut="ENVOYEE", saisie={"nom": "Martin"},
        cree_par_id=user.id, envoye_par_id=user.id, envoye_le=datetime(2025, 1, 10, 9, 0),
        code_bailleur=partner.code_bailleur, code_locataire="LOC000001", numero_allocataire="7100001",
        code="ENREGISTREMENT_ACCEPTE", libelle="Enregistrement accepté", severite="INFORMATION",
        recu_sha256=stored.sha256, recu_signature_sha256=signature.sha256)
    draft = DeclarationBailleur(organisation_id=partner.id, acte="LOYER", statut="BROUILLON",
                                saisie={"nom": "Martin", "loyer": "500"}, cree_par_id=user.id)
    db.session.add_all([sent, draft])
    db.session.flush()
    piece = PieceDeclaration(declaration_id=sent.id, nature="relance", nom="relance.pdf",
                             type_mime="application/pdf", sha256=stored.sha256, taille=stored.size)
    db.session.add(piece)
    db.session.flush()
    return sent, draft, piece


def _get_urls(app, w) -> list[tuple[str, str]]:
    """(endpoint, URL) for every GET route: parameterless ones as they are, the others from
    PARAM_URLS, plus the QUERY_URLS variants."""
    urls, missing, endpoints = [], [], set()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or is_static_endpoint(rule.endpoint):
            continue
        endpoints.add(rule.endpoint)
        if not rule.arguments:
            urls.append((rule.endpoint, rule.rule))
        elif rule.endpoint not in PARAM_URLS:
            missing.append(f"{rule.rule} ({rule.endpoint})")
        elif PARAM_URLS[rule.endpoint] is not None:
            urls.append((rule.endpoint, PARAM_URLS[rule.endpoint](w)))
    assert missing == [], "routes GET à paramètres à ajouter à PARAM_URLS : " + ", ".join(missing)
    assert set(QUERY_URLS) <= endpoints, "QUERY_URLS : routes GET disparues"
    urls += [(endpoint, build(w)) for endpoint, build in QUERY_URLS.items()]
    return sorted(urls)


def _walk(client, urls, headers=None) -> tuple[list[str], int]:
    """Request each URL inside a SAVEPOINT rolled back afterwards: every request starts from
    the same world, so a write made by one GET (a row created on first use, say) cannot hide
    the same write by the next ones."""
    failures, before = [], fingerprint()
    for endpoint, url in urls:
        savepoint = db.session.begin_nested()
        db.session.connection()  # emit the SAVEPOINT now, before the request's own
        try:
            response = client.get(url, headers=headers)
            response.close()
            after = fingerprint()
        finally:
            savepoint.rollback()
        if after != before:
            failures.append(f"GET {url} ({endpoint}) -> {response.status_code} a écrit : {_changes(before, after)}")
        elif response.status_code >= 500:
            failures.append(f"GET {url} ({endpoint}) -> {response.status_code}")
    return failures, len(urls)


def test_no_get_request_writes_to_the_database(app, world):
    urls = _get_urls(app, world)
    failures, checked = [], 0
    for who, client in world.clients.items():
        found, n = _walk(client, urls)
        failures += [f"{who} {line}" for line in found]
        checked += n
    assert checked >= 9 * 60
    assert failures == [], "\n".join(failures)


def test_no_api_get_request_writes_to_the_database(app, world):
    """The API's GET routes, with a bearer token holding every scope (a browser session gets 401)."""
    urls = [(e, u) for e, u in _get_urls(app, world) if u.startswith("/api/")]
    failures, checked = _walk(world.clients["anonyme"], urls, headers=world.api_headers)
    assert checked >= 10
    assert failures == [], "\n".join(failures)


def test_the_fingerprint_sees_a_committed_write(app, world):
    """The check itself: a committed change of one column is seen, the volatile columns are not."""
    from portal.models import User, UserSession, utcnow
    before = fingerprint()
    db.session.execute(UserSession.__table__.update().values(last_seen_at=utcnow()))
    assert fingerprint() == before
    db.session.get(User, world.target.id).prenom = "Dominique"
    db.session.commit()
    count = before["users"][0]
    assert _changes(before, fingerprint()) == f"users ({count} -> {count} lignes)"
