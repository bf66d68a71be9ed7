"""AFAS API for partners' software (scope AFAS): équipements, campaigns, drafts, checks,
transmission, status and droit. Same parsing, checks and messages as the web form."""
from __future__ import annotations

from flask import g, jsonify, request

from portal.access import api_scope
from portal.api import ApiError, bp, json_body, openapi, problem_doc
from portal.extensions import db
from portal.inputs import is_id

from . import services
from .models import Declaration, Equipement
from .schema import DECLARATION_TYPES, fields_for
from .services import ActionRefused
from .validation import parse_declaration, unknown_keys

PROBLEM = problem_doc("Erreur")
FIELD_ERRORS = problem_doc("Données invalides : `errors` donne un message par champ, "
                           "`controles` les points de contrôle")
DECLARATION_SCHEMA = {"type": "object", "properties": {
    "id": {"type": "integer"}, "equipement_id": {"type": "integer"}, "annee": {"type": "integer"},
    "type": {"type": "string", "enum": list(DECLARATION_TYPES)}, "statut": {"type": "string"},
    "echeance": {"type": "string", "format": "date"}, "en_retard": {"type": "boolean"},
    "avant_ouverture": {"type": "boolean", "description": "première transmission avant l'ouverture de la campagne"},
    "donnees": {"type": "object"}, "justifications": {"type": "object"},
    "droit": {"type": ["number", "null"]}, "versions": {"type": "array"}, "acomptes": {"type": "array"},
    "regularisation": {"type": ["object", "null"]}}}


def _declaration(did: int) -> Declaration:
    decl = db.session.get(Declaration, did)
    if decl is None or decl.equipement.organisation_id != g.api_organisation.id:
        raise ApiError(404, "Introuvable", "Aucune déclaration avec cet identifiant.")
    return decl


def _actor():
    return g.api_token.created_by


def _check_data(equipement_type: str, donnees) -> dict:
    if donnees is None:
        return {}
    if not isinstance(donnees, dict):
        raise ApiError(422, "Données invalides", "`donnees` doit être un objet.")
    errors = {k: "Champ inconnu pour ce type d'équipement." for k in unknown_keys(equipement_type, donnees)}
    for key, value in donnees.items():
        if isinstance(value, (dict, list)):
            errors[key] = "Saisissez un nombre."
    parsed = parse_declaration(equipement_type, {k: v for k, v in donnees.items() if not isinstance(v, (dict, list))})
    errors.update(parsed.messages)
    if errors:
        raise ApiError(422, "Données invalides", f"{len(errors)} champ(s) en erreur.", errors=errors)
    return donnees


def _refused(exc: ActionRefused, title: str = "Refusé") -> ApiError:
    """A refused state change as problem+json, with its field messages when it has some."""
    return ApiError(exc.status, title, exc.message, **({"errors": dict(exc.problems)} if exc.problems else {}))


def represent(decl: Declaration) -> dict:
    return {
        "id": decl.id, "equipement_id": decl.equipement_id, "annee": decl.annee, "type": decl.type,
        "statut": decl.status, "statut_libelle": decl.status_label,
        "echeance": decl.echeance.isoformat() if decl.echeance else None, "en_retard": decl.late,
        "avant_ouverture": decl.anticipee,
        "donnees": decl.data, "justifications": decl.justifications,
        "droit": decl.droit,
        "versions": [{"numero": v.numero, "transmise_le": v.created_at.isoformat() + "Z", "empreinte": v.content_hash,
                      "droit": v.montant, "en_retard": v.late, "avant_ouverture": v.anticipee, "via": v.via}
                     for v in decl.versions],
        "acomptes": [{"numero": a.numero, "date_prevue": a.date_prevue.isoformat(), "montant": float(a.montant),
                      "etat": a.status} for a in decl.acomptes],
        "regularisation": None if decl.regularisation is None else {
            "droit_reel": float(decl.regularisation.droit_reel), "acomptes_verses": float(decl.regularisation.acomptes_verses),
            "solde": float(decl.regularisation.solde)},
    }


@bp.get("/afas/equipements")
@api_scope("AFAS")
@openapi("/afas/equipements", "get", {
    "summary": "Équipements de l'organisation", "tags": ["AFAS"],
    "responses": {"200": {"description": "Liste des équipements"}, "401": PROBLEM, "403": PROBLEM}})
def api_equipements():
    rows = services.equipements_of(g.api_organisation.id)
    return jsonify([{"id": e.id, "type": e.type, "nom": e.nom, "numero": e.numero, "activite": e.activite,
                     "champs": [{"cle": f.key, "libelle": f.label, "nature": f.kind, "maximum": f.maximum or None}
                                for f in fields_for(e.type)]} for e in rows])


@bp.get("/afas/campagnes")
@api_scope("AFAS")
@openapi("/afas/campagnes", "get", {
    "summary": "Fenêtres des campagnes (ouverture, échéance) par exercice", "tags": ["AFAS"],
    "parameters": [{"name": "annee", "in": "query", "schema": {"type": "integer"}}],
    "responses": {"200": {"description": "Campagnes"}, "401": PROBLEM}})
def api_campagnes():
    year = services.today().year
    try:
        years = [int(request.args["annee"])] if "annee" in request.args else list(range(year - 1, year + 2))
    except ValueError:
        raise ApiError(400, "Requête invalide", "`annee` doit être un entier.") from None
    if any(not 2000 <= y <= 2100 for y in years):
        raise ApiError(400, "Requête invalide", "`annee` hors des années possibles.")
    rows = services.campaign_rows(years)
    return jsonify([{"annee": c.annee, "type": c.type_declaration, "ouverture": c.ouverture.isoformat(),
                     "echeance": c.echeance.isoformat()} for c in rows])


@bp.post("/afas/declarations")
@api_scope("AFAS")
@openapi("/afas/declarations", "post", {
    "summary": "Créer un brouillon de déclaration (pré-rempli depuis la précédente, puis `donnees`)", "tags": ["AFAS"],
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["equipement_id", "annee", "type"],
        "properties": {"equipement_id": {"type": "integer"}, "annee": {"type": "integer"},
                       "type": {"type": "string", "enum": list(DECLARATION_TYPES)},
                       "donnees": {"type": "object", "description": "clé de champ -> nombre, texte (virgule décimale acceptée) ou booléen"},
                       "justifications": {"type": "object", "description": "code d'alerte -> texte"}}}}}},
    "responses": {"201": {"description": "Brouillon créé", "content": {"application/json": {"schema": DECLARATION_SCHEMA}}},
                  "404": PROBLEM, "409": PROBLEM, "422": FIELD_ERRORS}})
def api_create():
    body = json_body()
    eq = db.session.get(Equipement, body["equipement_id"]) if is_id(body.get("equipement_id")) else None
    if eq is None or eq.organisation_id != g.api_organisation.id:
        raise ApiError(404, "Introuvable", "Aucun équipement avec cet identifiant.")
    annee, type_ = body.get("annee"), body.get("type")
    errors = {}
    if not isinstance(annee, int) or isinstance(annee, bool):
        errors["annee"] = "Exercice attendu (entier)."
    if type_ not in DECLARATION_TYPES:
        errors["type"] = f"Type attendu parmi : {', '.join(DECLARATION_TYPES)}."
    if errors:
        raise ApiError(422, "Données invalides", "Requête incomplète.", errors=errors)
    donnees = _check_data(eq.type, body.get("donnees"))
    try:
        decl = services.create_declaration(eq, annee, type_, _actor())
        if donnees or body.get("justifications"):
            merged = {**decl.data, **donnees}
            services.save_draft(decl, merged, body.get("justifications") if isinstance(body.get("justifications"), dict) else None, _actor())
    except ActionRefused as exc:
        db.session.rollback()
        raise _refused(exc) from None
    db.session.commit()
    response = jsonify(represent(decl))
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/afas/declarations/{decl.id}"
    return response


@bp.get("/afas/declarations/<int:did>")
@api_scope("AFAS")
@openapi("/afas/declarations/{id}", "get", {
    "summary": "Statut, données, versions, droit, acomptes et régularisation d'une déclaration", "tags": ["AFAS"],
    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    "responses": {"200": {"description": "Déclaration", "content": {"application/json": {"schema": DECLARATION_SCHEMA}}},
                  "404": PROBLEM}})
def api_get(did):
    return jsonify(represent(_declaration(did)))


@bp.put("/afas/declarations/<int:did>")
@api_scope("AFAS")
@openapi("/afas/declarations/{id}", "put", {
    "summary": "Mettre à jour le brouillon (champs fournis ; les autres sont conservés)", "tags": ["AFAS"],
    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object", "properties": {
        "donnees": {"type": "object"}, "justifications": {"type": "object"}}}}}},
    "responses": {"200": {"description": "Brouillon enregistré"}, "404": PROBLEM, "409": PROBLEM, "422": FIELD_ERRORS}})
def api_update(did):
    decl = _declaration(did)
    body = json_body()
    donnees = _check_data(decl.equipement.type, body.get("donnees"))
    justifications = body.get("justifications")
    if justifications is not None and not isinstance(justifications, dict):
        raise ApiError(422, "Données invalides", "`justifications` doit être un objet.", errors={"justifications": "Objet attendu."})
    try:
        services.save_draft(decl, {**decl.data, **donnees},
                            None if justifications is None else {**decl.justifications, **justifications}, _actor())
    except ActionRefused as exc:
        db.session.rollback()
        raise _refused(exc) from None
    db.session.commit()
    return jsonify(represent(decl))


@bp.post("/afas/declarations/<int:did>/controles")
@api_scope("AFAS")
@openapi("/afas/declarations/{id}/controles", "post", {
    "summary": "Exécuter les points de contrôle et calculer le droit (sur le brouillon, ou sur `donnees` sans enregistrer)",
    "tags": ["AFAS"],
    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    "requestBody": {"required": False, "content": {"application/json": {"schema": {"type": "object", "properties": {
        "donnees": {"type": "object"}}}}}},
    "responses": {"200": {"description": "Contrôles (code, sévérité, message), erreurs par champ, droit pas à pas"},
                  "404": PROBLEM}})
def api_checks(did):
    decl = _declaration(did)
    body = json_body(optional=True)
    raw = decl.data
    if isinstance(body.get("donnees"), dict):
        raw = {**decl.data, **body["donnees"]}
    evaluation = services.evaluate_declaration(decl, raw)
    return jsonify({**evaluation.as_dict(),
                    "justifications_manquantes": [c.code for c in evaluation.missing_justifications(decl.justifications)]})


@bp.post("/afas/declarations/<int:did>/transmission")
@api_scope("AFAS")
@openapi("/afas/declarations/{id}/transmission", "post", {
    "summary": "Transmettre la déclaration (contrôles refaits ; chaque alerte doit être justifiée)", "tags": ["AFAS"],
    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    "requestBody": {"required": False, "content": {"application/json": {"schema": {"type": "object", "properties": {
        "justifications": {"type": "object", "description": "code d'alerte -> texte"}}}}}},
    "responses": {"201": {"description": "Version figée : numéro, empreinte SHA-256, horodatage, retard"},
                  "404": PROBLEM, "409": problem_doc("Déjà transmise"),
                  "422": problem_doc("Points bloquants ou alertes non justifiées")}})
def api_transmit(did):
    decl = _declaration(did)
    justifications = json_body(optional=True).get("justifications")
    if justifications is not None and not isinstance(justifications, dict):
        raise ApiError(422, "Données invalides", "`justifications` doit être un objet.", errors={"justifications": "Objet attendu."})
    try:
        if justifications:
            services.save_draft(decl, decl.data, {**decl.justifications, **justifications}, _actor())
        version = services.transmit(decl, _actor(), via="api")
    except ActionRefused as exc:
        db.session.rollback()
        extra = {"errors": dict(exc.problems)} if exc.problems else {}
        if exc.evaluation is not None:
            extra = {"errors": {**exc.evaluation.parsed.messages, **exc.problems},
                     "controles": [c.as_dict() for c in exc.evaluation.controles]}
        raise ApiError(exc.status, "Transmission refusée", exc.message, **extra) from None
    db.session.commit()
    response = jsonify({"numero": version.numero, "empreinte": version.content_hash,
                        "transmise_le": version.created_at.isoformat() + "Z", "en_retard": version.late,
                        "avant_ouverture": version.anticipee,
                        "droit": version.montant, "declaration": represent(decl)})
    response.status_code = 201
    return response
