"""API of the payment hand-off: the payment system posts its return file (scope AFAS, and the
token must belong to the Caf itself: a partner's token is refused)."""
from __future__ import annotations

import base64
import binascii

from flask import g, jsonify

from portal.access import api_scope
from portal.api import ApiError, bp, json_body, openapi, problem_doc, refuse_unknown, request_object, response_object
from portal.extensions import db

from . import services

MAX_B64 = 8 * 1024 * 1024
RETOUR_BODY = request_object({
    "fichier": {"type": "string", "maxLength": MAX_B64, "description": "le fichier retour XML, en base64"},
    "signature": {"type": "string", "maxLength": 400_000, "description": "sa signature CMS détachée (DER), en base64"},
}, required=("fichier", "signature"))
RETOUR_SCHEMA = response_object({
    "reference": {"type": "string"}, "payees": {"type": "integer"}, "rejetees": {"type": "integer"},
    "deja_traitees": {"type": "integer"}, "rejeu": {"type": "boolean"}})


def _b64(body: dict, key: str) -> bytes:
    value = body.get(key)
    if not isinstance(value, str) or not value or len(value) > MAX_B64:
        raise ApiError(422, "Données invalides", f"« {key} » : texte base64 attendu.", errors={key: "Base64 attendu."})
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(422, "Données invalides", f"« {key} » n'est pas du base64 valide.",
                       errors={key: "Base64 invalide."}) from None


@bp.post("/afas/paiements/retours")
@api_scope("AFAS")
@openapi("/afas/paiements/retours", "post", {
    "summary": "Déposer un fichier retour du système de paiement (jeton de la Caf uniquement)", "tags": ["AFAS"],
    "requestBody": {"required": True, "content": {"application/json": {"schema": RETOUR_BODY}}},
    "responses": {"201": {"description": "Fichier vérifié et appliqué (un rejeu ne change rien)",
                          "content": {"application/json": {"schema": RETOUR_SCHEMA}}},
                  "403": problem_doc("Le jeton n'appartient pas à la Caf"),
                  "422": problem_doc("Signature, XML ou schéma refusés, ligne inconnue, ou corps invalide")}})
def api_paiement_retour():
    body = json_body(max_bytes=MAX_B64 + 512 * 1024)  # a malformed body is a 400 for every caller
    if g.api_organisation.kind != "caf":
        raise ApiError(403, "Accès refusé", "Seul le système de paiement de la Caf dépose des fichiers retour.")
    refuse_unknown(body, RETOUR_BODY)
    xml, signature = _b64(body, "fichier"), _b64(body, "signature")
    try:
        retour = services.apply_return(xml, signature, g.api_token.created_by, via="api")
    except services.PaymentRefused as exc:
        db.session.rollback()
        raise ApiError(422, "Fichier retour refusé", exc.message, code=exc.code) from None
    db.session.commit()
    response = jsonify({"reference": retour.reference, "payees": retour.nb_payees, "rejetees": retour.nb_rejetees,
                        "deja_traitees": retour.nb_deja_traitees, "rejeu": retour.rejeu})
    response.status_code = 201
    return response
