"""EDI API for landlords' software (Bearer token with the EDI scope), on portal.api.bp."""
from __future__ import annotations

import base64

from flask import Response, g, jsonify, request, url_for
from sqlalchemy import func, select

from portal.access import api_scope
from portal.api import ApiError, bp, nullable, openapi, problem_doc, response_object
from portal.downloads import attachment
from portal.extensions import db
from portal.inputs import ID_MAX, int_arg

from . import queries, services
from .intake import storage
from .models import AVERTISSEMENT, ERREUR, ETAPES, STATUT_LABELS, EdiAvisPaiement, EdiFichier

STRING, INTEGER = {"type": "string"}, {"type": "integer"}
ANOMALY = response_object({"code": STRING, "libelle": STRING,
                           "severite": {"type": "string", "enum": [ERREUR, AVERTISSEMENT, "INFORMATION"]}})
FILE_SCHEMA = response_object({
    "id": INTEGER, "statut": {"type": "string", "enum": list(STATUT_LABELS)},
    "etape": {"type": "string", "enum": list(ETAPES)}, "termine": {"type": "boolean"},
    "nom_fichier": STRING, "sha256": STRING, "taille": INTEGER,
    "recu_le": {"type": "string", "format": "date-time"},
    "flux": nullable(STRING), "identifiant_fichier": nullable(STRING), "mode": nullable(STRING),
    "compteurs": response_object({k: INTEGER for k in (
        "annonces", "lus", "acceptes", "rejetes", "avertissements", "appliques")}),
    "motifs": {"type": "array", "items": ANOMALY},
    "doublon_de": nullable(INTEGER),
    "liens": {"type": "object", "required": ["self"], "properties": {
        k: STRING for k in ("self", "accuse", "accuse_signature", "anomalies")}},
})
FILE_ID = {"name": "fichier_id", "in": "path", "required": True,
           "schema": {"type": "integer", "minimum": 0, "maximum": ID_MAX}}
AVIS_ID = {"name": "avis_id", "in": "path", "required": True,
           "schema": {"type": "integer", "minimum": 0, "maximum": ID_MAX}}
PAGE = {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": ID_MAX}}
MAX_PER_PAGE = 200
DOWNLOAD_HEADERS = {"ETag": {"schema": STRING}, "Digest": {"schema": STRING, "description": "sha-256=<base64>"},
                    "Content-Disposition": {"schema": STRING}}


def _download(description: str, mimetype: str) -> dict:
    return {"description": description, "headers": DOWNLOAD_HEADERS,
            "content": {mimetype: {"schema": {"type": "string", "contentMediaType": mimetype}}}}


def _choice_arg(name: str, allowed) -> str | None:
    """A query parameter among `allowed` (documented as an enum): absent is None, anything else
    (empty included) is a 400 naming the values (never an empty list for a misspelt value)."""
    value = request.args.get(name)
    if value is None:
        return None
    if value not in allowed:
        raise ApiError(400, "Requête invalide", f"Le paramètre « {name} » vaut l'une des valeurs : "
                                                f"{', '.join(allowed)}.")
    return value


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
    "requestBody": {"required": True, "content": {"multipart/form-data": {
        "schema": {"type": "object", "required": ["fichier", "signature"], "properties": {
            "fichier": {"type": "string", "format": "binary", "description": "fichier XML (avec son nom)"},
            "signature": {"type": "string", "format": "binary", "description": "signature .p7s (avec son nom)"}}},
        "encoding": {"fichier": {"contentType": "application/xml"},
                     "signature": {"contentType": "application/pkcs7-signature"}}}}},
    "responses": {"202": {"description": "Fichier reçu, traitement en file",
                          "headers": {"Location": {"schema": {"type": "string"}}},
                          "content": {"application/json": {"schema": FILE_SCHEMA}}},
                  "400": problem_doc("Fichier ou signature absents, ou dépôt refusé"),
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
        {"name": "statut", "in": "query", "schema": {"type": "string", "enum": list(STATUT_LABELS)}},
        {"name": "flux", "in": "query", "schema": {"type": "string"}},
        PAGE,
        {"name": "par_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE}}],
    "responses": {"200": {"description": "Page de fichiers", "content": {"application/json": {
        "schema": response_object({
            "fichiers": {"type": "array", "items": FILE_SCHEMA}, "total": INTEGER,
            "page": INTEGER, "par_page": INTEGER})}}}},
})
def edi_file_list():
    page = int_arg("page", 1, blank_is_absent=False)
    per_page = int_arg("par_page", 50, maximum=MAX_PER_PAGE, blank_is_absent=False)
    statut = _choice_arg("statut", list(STATUT_LABELS))
    query = queries.files_query(organisation_id=g.api_organisation.id,
                                statut=statut, flux=request.args.get("flux"))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    files = db.session.scalars(query.offset((page - 1) * per_page).limit(per_page)).all()
    return {"fichiers": [file_json(f) for f in files], "total": total, "page": page,
            "par_page": per_page}


@bp.get("/edi/fichiers/<int:fichier_id>")
@api_scope("EDI")
@openapi("/edi/fichiers/{fichier_id}", "get", {
    "summary": "État du traitement d'un fichier, avec ses compteurs",
    "tags": ["EDI"],
    "parameters": [FILE_ID],
    "responses": {"200": {"description": "État", "content": {"application/json": {"schema": FILE_SCHEMA}}}},
})
def edi_file_status(fichier_id: int):
    return file_json(_own_file(fichier_id))


@bp.get("/edi/fichiers/<int:fichier_id>/anomalies")
@api_scope("EDI")
@openapi("/edi/fichiers/{fichier_id}/anomalies", "get", {
    "summary": "Résultats par enregistrement (anomalies), filtrables par code et gravité",
    "tags": ["EDI"],
    "parameters": [
        FILE_ID,
        {"name": "code", "in": "query", "schema": {"type": "string"}},
        {"name": "gravite", "in": "query", "schema": {"type": "string", "enum": [ERREUR, AVERTISSEMENT]}},
        PAGE],
    "responses": {"200": {"description": "Anomalies (200 par page) et synthèse par code", "content": {
        "application/json": {"schema": response_object({
            "synthese": {"type": "array", "items": response_object({
                "code": STRING, "severite": STRING, "libelle": STRING, "nombre": INTEGER})},
            "total": INTEGER, "page": INTEGER,
            "enregistrements": {"type": "array", "items": response_object({
                "rang": INTEGER, "ligne": nullable(INTEGER), "identifiant": STRING,
                "code_locataire": nullable(STRING), "accepte": {"type": "boolean"},
                "anomalies": {"type": "array", "items": ANOMALY}})}})}}}},
})
def edi_file_anomalies(fichier_id: int):
    f = _own_file(fichier_id)
    page = int_arg("page", 1, blank_is_absent=False)
    gravite = _choice_arg("gravite", [ERREUR, AVERTISSEMENT])
    rows, total = queries.anomalies(f.id, code=request.args.get("code"),
                                    severite=gravite, page=page, per_page=200)
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
    "parameters": [FILE_ID],
    "responses": {"200": _download("ACCUSE", "application/xml"),
                  "409": problem_doc("Traitement pas terminé (`retry_after` : secondes)")},
})
def edi_file_accuse(fichier_id: int):
    f = _own_file(fichier_id)
    return _object_response(f.accuse_sha256, "application/xml", accuse_filename(f))


@bp.get("/edi/fichiers/<int:fichier_id>/accuse.p7s")
@api_scope("EDI")
@openapi("/edi/fichiers/{fichier_id}/accuse.p7s", "get", {
    "summary": "Signature CMS détachée de l'accusé (DER), vérifiable avec openssl cms -verify",
    "tags": ["EDI"],
    "parameters": [FILE_ID],
    "responses": {"200": _download("Signature", "application/pkcs7-signature"),
                  "409": problem_doc("Traitement pas terminé (`retry_after` : secondes)")},
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
    "responses": {"200": {"description": "Liste (120 au plus)", "content": {"application/json": {
        "schema": response_object({"avis": {"type": "array", "items": response_object({
            "id": INTEGER, "annee": INTEGER, "mois": {"type": "integer", "minimum": 1, "maximum": 12},
            "identifiant_fichier": STRING, "nb_paiements": INTEGER, "montant_total_cents": INTEGER,
            "sha256": STRING, "cree_le": {"type": "string", "format": "date-time"},
            "liens": response_object({"fichier": STRING, "signature": STRING})})}})}}}},
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
    "parameters": [AVIS_ID],
    "responses": {"200": _download("AVIS_PAIEMENT", "application/xml")},
})
def edi_avis_download(avis_id: int):
    a = _own_avis(avis_id)
    return _object_response(a.sha256, "application/xml", f"{a.identifiant_fichier}.xml")


@bp.get("/edi/avis-paiement/<int:avis_id>.p7s")
@api_scope("EDI")
@openapi("/edi/avis-paiement/{avis_id}.p7s", "get", {
    "summary": "Signature CMS détachée de l'avis de paiement",
    "tags": ["EDI"],
    "parameters": [AVIS_ID],
    "responses": {"200": _download("Signature", "application/pkcs7-signature")},
})
def edi_avis_signature(avis_id: int):
    a = _own_avis(avis_id)
    return _object_response(a.signature_sha256, "application/pkcs7-signature",
                            f"{a.identifiant_fichier}.xml.p7s")
