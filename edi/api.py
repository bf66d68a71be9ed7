"""EDI API for landlords' software (Bearer token with the EDI scope), on portal.api.bp."""
from __future__ import annotations

import base64

from flask import Response, g, jsonify, request, url_for
from sqlalchemy import func, select

from portal.access import api_scope
from portal.api import ApiError, bp, openapi, problem_doc
from portal.downloads import attachment
from portal.extensions import db
from portal.inputs import int_arg

from . import queries, services
from .intake import storage
from .models import EdiAvisPaiement, EdiFichier

FILE_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"}, "statut": {"type": "string", "enum": [
            "RECU", "EN_COURS", "TRAITE", "TRAITE_PARTIEL", "REJETE", "DOUBLON", "QUARANTAINE"]},
        "etape": {"type": "string"}, "termine": {"type": "boolean"},
        "nom_fichier": {"type": "string"}, "sha256": {"type": "string"},
        "taille": {"type": "integer"}, "recu_le": {"type": "string", "format": "date-time"},
        "flux": {"type": ["string", "null"]}, "identifiant_fichier": {"type": ["string", "null"]},
        "mode": {"type": ["string", "null"]},
        "compteurs": {"type": "object", "properties": {k: {"type": "integer"} for k in (
            "annonces", "lus", "acceptes", "rejetes", "avertissements", "appliques")}},
        "motifs": {"type": "array", "items": {"type": "object"}},
        "doublon_de": {"type": ["integer", "null"]},
        "liens": {"type": "object"},
    },
}


def file_json(f: EdiFichier) -> dict:
    links = {"self": url_for("api.edi_file_status", fichier_id=f.id)}
    if f.accuse_sha256:
        links["accuse"] = url_for("api.edi_file_accuse", fichier_id=f.id)
        links["accuse_signature"] = url_for("api.edi_file_accuse_signature", fichier_id=f.id)
        links["anomalies"] = url_for("api.edi_file_anomalies", fichier_id=f.id)
    return {
        "id": f.id, "statut": f.statut, "etape": f.etape, "termine": f.est_termine,
        "nom_fichier": f.nom_fichier, "sha256": f.sha256, "taille": f.taille,
        "recu_le": f.recu_le.isoformat() + "Z", "flux": f.flux,
        "identifiant_fichier": f.identifiant_fichier, "mode": f.mode,
        "compteurs": {"annonces": f.nb_annonce or 0, "lus": f.nb_lus, "acceptes": f.nb_acceptes,
                      "rejetes": f.nb_rejetes, "avertissements": f.nb_avertissements,
                      "appliques": f.nb_appliques},
        "motifs": f.motifs or [], "doublon_de": f.doublon_de_id, "liens": links,
    }


def _own_file(fichier_id: int) -> EdiFichier:
    f = db.session.get(EdiFichier, fichier_id)
    if f is None or f.organisation_id != g.api_organisation.id:
        raise ApiError(404, "Fichier introuvable", f"Aucun fichier n° {fichier_id} pour votre organisation.")
    return f


@bp.post("/edi/fichiers")
@api_scope("EDI")
@openapi("/edi/fichiers", "post", {
    "summary": "Déposer un fichier EDI signé",
    "description": "Multipart : `fichier` (le XML) et `signature` (signature CMS détachée, DER, "
                   "`.p7s`). Les octets sont conservés tels quels avant tout contrôle ; le "
                   "traitement est asynchrone : suivre `Location`. Taille maximale : EDI_MAX_FILE_MB "
                   "(413 au-delà, avant toute lecture).",
    "tags": ["EDI"],
    "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["fichier", "signature"],
        "properties": {"fichier": {"type": "string", "format": "binary"},
                       "signature": {"type": "string", "format": "binary"}}}}}},
    "responses": {"202": {"description": "Fichier reçu, traitement en file",
                          "headers": {"Location": {"schema": {"type": "string"}}},
                          "content": {"application/json": {"schema": FILE_SCHEMA}}},
                  "400": problem_doc("Fichier ou signature absents"),
                  "413": problem_doc("Fichier trop volumineux")},
})
def edi_file_upload():
    upload = request.files.get("fichier")
    signature = request.files.get("signature")
    errors = {}
    if upload is None or not upload.filename:
        errors["fichier"] = "Joignez le fichier XML (champ « fichier »)."
    if signature is None or not signature.filename:
        errors["signature"] = "Joignez la signature détachée .p7s (champ « signature »)."
    if errors:
        raise ApiError(400, "Dépôt incomplet", "Le fichier et sa signature sont obligatoires.",
                       errors=errors)
    try:
        f = services.receive_file(g.api_organisation, upload.stream, upload.filename,
                                  signature.stream, canal="api", api_token_id=g.api_token.id)
        db.session.commit()
    except storage.TooLarge:
        raise ApiError(413, "Fichier trop volumineux", "Le fichier dépasse la taille maximale autorisée.") from None
    except services.EdiInputError as exc:
        raise ApiError(400, "Dépôt refusé", str(exc)) from None
    body = file_json(f)
    response = jsonify(body)
    response.status_code = 202
    response.headers["Location"] = body["liens"]["self"]
    return response


@bp.get("/edi/fichiers")
@api_scope("EDI")
@openapi("/edi/fichiers", "get", {
    "summary": "Lister les fichiers déposés (les plus récents d'abord)",
    "tags": ["EDI"],
    "parameters": [
        {"name": "statut", "in": "query", "schema": {"type": "string"}},
        {"name": "flux", "in": "query", "schema": {"type": "string"}},
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
        {"name": "par_page", "in": "query", "schema": {"type": "integer", "maximum": 200}}],
    "responses": {"200": {"description": "Page de fichiers", "content": {"application/json": {
        "schema": {"type": "object", "properties": {
            "fichiers": {"type": "array", "items": FILE_SCHEMA}, "total": {"type": "integer"},
            "page": {"type": "integer"}, "par_page": {"type": "integer"}}}}}}},
})
def edi_file_list():
    page = int_arg("page", 1)
    per_page = min(int_arg("par_page", 50), 200)
    query = queries.files_query(organisation_id=g.api_organisation.id,
                                statut=request.args.get("statut"), flux=request.args.get("flux"))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    files = db.session.scalars(query.offset((page - 1) * per_page).limit(per_page)).all()
    return {"fichiers": [file_json(f) for f in files], "total": total, "page": page,
            "par_page": per_page}


@bp.get("/edi/fichiers/<int:fichier_id>")
@api_scope("EDI")
@openapi("/edi/fichiers/{fichier_id}", "get", {
    "summary": "État du traitement d'un fichier, avec ses compteurs",
    "tags": ["EDI"],
    "parameters": [{"name": "fichier_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    "responses": {"200": {"description": "État", "content": {"application/json": {"schema": FILE_SCHEMA}}},
                  "404": problem_doc("Inconnu ou d'une autre organisation")},
})
def edi_file_status(fichier_id: int):
    return file_json(_own_file(fichier_id))


@bp.get("/edi/fichiers/<int:fichier_id>/anomalies")
@api_scope("EDI")
@openapi("/edi/fichiers/{fichier_id}/anomalies", "get", {
    "summary": "Résultats par enregistrement (anomalies), filtrables par code et gravité",
    "tags": ["EDI"],
    "parameters": [
        {"name": "fichier_id", "in": "path", "required": True, "schema": {"type": "integer"}},
        {"name": "code", "in": "query", "schema": {"type": "string"}},
        {"name": "gravite", "in": "query", "schema": {"type": "string", "enum": ["ERREUR", "AVERTISSEMENT"]}},
        {"name": "page", "in": "query", "schema": {"type": "integer"}}],
    "responses": {"200": {"description": "Anomalies et synthèse par code"},
                  "404": problem_doc("Inconnu")},
})
def edi_file_anomalies(fichier_id: int):
    f = _own_file(fichier_id)
    page = int_arg("page", 1)
    rows, total = queries.anomalies(f.id, code=request.args.get("code"),
                                    severite=request.args.get("gravite"), page=page, per_page=200)
    return {"synthese": queries.anomaly_summary(f.id), "total": total, "page": page,
            "enregistrements": [{"rang": r.rang, "ligne": r.ligne, "identifiant": r.identifiant,
                                 "code_locataire": r.code_locataire, "accepte": r.accepte,
                                 "anomalies": r.anomalies} for r in rows]}


def _object_response(sha256: str | None, mimetype: str, filename: str) -> Response:
    if not sha256:
        raise ApiError(409, "Pas encore disponible", "Le traitement du fichier n'est pas terminé.",
                       retry_after=5)
    return attachment(storage.iter_chunks(sha256), mimetype=mimetype, filename=filename, headers={
        "ETag": f'"{sha256}"',
        "Digest": "sha-256=" + base64.b64encode(bytes.fromhex(sha256)).decode()})


def accuse_filename(f: EdiFichier) -> str:
    return f"ACCUSE-{f.identifiant_fichier or f.id}-{f.id}.xml"


@bp.get("/edi/fichiers/<int:fichier_id>/accuse")
@api_scope("EDI")
@openapi("/edi/fichiers/{fichier_id}/accuse", "get", {
    "summary": "Accusé de traitement signé (XML ACCUSE) ; identique à chaque demande",
    "tags": ["EDI"],
    "parameters": [{"name": "fichier_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    "responses": {"200": {"description": "ACCUSE", "content": {"application/xml": {}}},
                  "409": problem_doc("Traitement pas terminé"),
                  "404": problem_doc("Inconnu")},
})
def edi_file_accuse(fichier_id: int):
    f = _own_file(fichier_id)
    return _object_response(f.accuse_sha256, "application/xml", accuse_filename(f))


@bp.get("/edi/fichiers/<int:fichier_id>/accuse.p7s")
@api_scope("EDI")
@openapi("/edi/fichiers/{fichier_id}/accuse.p7s", "get", {
    "summary": "Signature CMS détachée de l'accusé (DER), vérifiable avec openssl cms -verify",
    "tags": ["EDI"],
    "parameters": [{"name": "fichier_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    "responses": {"200": {"description": "Signature", "content": {"application/pkcs7-signature": {}}},
                  "409": problem_doc("Traitement pas terminé")},
})
def edi_file_accuse_signature(fichier_id: int):
    f = _own_file(fichier_id)
    return _object_response(f.accuse_signature_sha256, "application/pkcs7-signature",
                            accuse_filename(f) + ".p7s")


def avis_json(a: EdiAvisPaiement) -> dict:
    return {"id": a.id, "annee": a.annee, "mois": a.mois, "identifiant_fichier": a.identifiant_fichier,
            "nb_paiements": a.nb_paiements, "montant_total_cents": a.montant_total_cents,
            "sha256": a.sha256, "cree_le": a.cree_le.isoformat() + "Z",
            "liens": {"fichier": url_for("api.edi_avis_download", avis_id=a.id),
                      "signature": url_for("api.edi_avis_signature", avis_id=a.id)}}


def _own_avis(avis_id: int) -> EdiAvisPaiement:
    a = db.session.get(EdiAvisPaiement, avis_id)
    if a is None or a.organisation_id != g.api_organisation.id:
        raise ApiError(404, "Avis introuvable", f"Aucun avis n° {avis_id} pour votre organisation.")
    return a


@bp.get("/edi/avis-paiement")
@api_scope("EDI")
@openapi("/edi/avis-paiement", "get", {
    "summary": "Avis de paiement mensuels (tiers payant), les plus récents d'abord",
    "tags": ["EDI"],
    "responses": {"200": {"description": "Liste"}},
})
def edi_avis_list():
    rows = db.session.scalars(select(EdiAvisPaiement).where(
        EdiAvisPaiement.organisation_id == g.api_organisation.id)
        .order_by(EdiAvisPaiement.annee.desc(), EdiAvisPaiement.mois.desc()).limit(120)).all()
    return {"avis": [avis_json(a) for a in rows]}


@bp.get("/edi/avis-paiement/<int:avis_id>")
@api_scope("EDI")
@openapi("/edi/avis-paiement/{avis_id}", "get", {
    "summary": "Télécharger un avis de paiement (XML AVIS_PAIEMENT signé par la Caf)",
    "tags": ["EDI"],
    "parameters": [{"name": "avis_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    "responses": {"200": {"description": "AVIS_PAIEMENT", "content": {"application/xml": {}}},
                  "404": problem_doc("Inconnu")},
})
def edi_avis_download(avis_id: int):
    a = _own_avis(avis_id)
    return _object_response(a.sha256, "application/xml", f"{a.identifiant_fichier}.xml")


@bp.get("/edi/avis-paiement/<int:avis_id>.p7s")
@api_scope("EDI")
@openapi("/edi/avis-paiement/{avis_id}.p7s", "get", {
    "summary": "Signature CMS détachée de l'avis de paiement",
    "tags": ["EDI"],
    "parameters": [{"name": "avis_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    "responses": {"200": {"description": "Signature", "content": {"application/pkcs7-signature": {}}}},
})
def edi_avis_signature(avis_id: int):
    a = _own_avis(avis_id)
    return _object_response(a.signature_sha256, "application/pkcs7-signature",
                            f"{a.identifiant_fichier}.xml.p7s")
