"""AFAS API for partners' software (scope AFAS): équipements, campaigns, drafts, checks,
transmission, status and droit. Same parsing, checks and messages as the web form."""
from __future__ import annotations

from flask import g, jsonify

from portal.access import api_scope
from portal.api import (ApiError, bp, json_body, nullable, openapi, problem_doc, refuse_unknown,
                        request_object, response_object)
from portal.extensions import db
from portal.formatting import accord
from portal.inputs import ID_MAX, int_arg, is_id

from . import services
from .convention_service import STATUTS, statut
from .models import Declaration, Equipement
from .schema import DECLARATION_TYPES, EQUIPEMENT_TYPES, STATUS_LABELS, fields_for
from .services import MAX_JUSTIFICATION, ActionRefused
from .validation import parse_declaration, unknown_keys

FIELD_ERRORS = problem_doc("Données invalides : `errors` donne un message par champ, "
                           "`controles` les points de contrôle")
ID_PARAMETER = {"name": "id", "in": "path", "required": True,
                "schema": {"type": "integer", "minimum": 0, "maximum": ID_MAX}}
FIRST_YEAR = 2000  # afas.services.create_declaration: 2000 to the current year + 2

DATE = {"type": "string", "format": "date"}
DATE_TIME = {"type": "string", "format": "date-time"}
NUMBER = {"type": "number"}
DONNEES_IN = {"type": "object", "description": "clé de champ (GET /afas/equipements, `champs` : celles "
              "du type de l'équipement) -> nombre, texte (virgule décimale acceptée) ou booléen ; null "
              "efface la valeur",
              "propertyNames": {"enum": sorted({f.key for kind in EQUIPEMENT_TYPES for f in fields_for(kind)})},
              "additionalProperties": {"type": ["number", "string", "boolean", "null"]}}
JUSTIFICATIONS_IN = {"type": "object", "description": "code d'alerte -> texte",
                     "additionalProperties": {"type": "string", "maxLength": MAX_JUSTIFICATION}}
CONTROLE = response_object({
    "code": {"type": "string"}, "severite": {"type": "string"}, "titre": {"type": "string"},
    "message": {"type": "string"}, "champs": {"type": "array", "items": {"type": "string"}},
    "valeur": nullable(NUMBER), "seuil": nullable(NUMBER)})
DROIT = response_object({
    "montant": nullable(NUMBER), "plafond_formule": nullable(NUMBER), "formule": {"type": "string"},
    "etapes": {"type": "array", "items": response_object({
        "libelle": {"type": "string"}, "calcul": {"type": "string"}, "valeur": {"type": "string"}})},
    "manquants": {"type": "array", "items": {"type": "string"}},
    "indicateurs": {"type": "object", "additionalProperties": True}, "bareme": {"type": "string"}})
DECLARATION_SCHEMA = response_object({
    "id": {"type": "integer"}, "equipement_id": {"type": "integer"}, "annee": {"type": "integer"},
    "type": {"type": "string", "enum": list(DECLARATION_TYPES)},
    "statut": {"type": "string", "enum": list(STATUS_LABELS)}, "statut_libelle": {"type": "string"},
    "echeance": nullable(DATE), "en_retard": {"type": "boolean"},
    "avant_ouverture": {"type": "boolean", "description": "première transmission avant l'ouverture de la campagne"},
    "donnees": {"type": "object", "additionalProperties": {"type": ["number", "string", "boolean"]}},
    "justifications": {"type": "object", "additionalProperties": {"type": "string"}},
    "droit": nullable(NUMBER),
    "versions": {"type": "array", "items": response_object({
        "numero": {"type": "integer"}, "transmise_le": DATE_TIME, "empreinte": {"type": "string"},
        "droit": nullable(NUMBER), "en_retard": {"type": "boolean"}, "avant_ouverture": {"type": "boolean"},
        "via": {"type": "string", "enum": ["web", "api"]}})},
    "acomptes": {"type": "array", "items": response_object({
        "numero": {"type": "integer"}, "date_prevue": DATE, "montant": NUMBER, "etat": {"type": "string"}})},
    "regularisation": nullable(response_object({
        "droit_reel": NUMBER, "acomptes_verses": NUMBER, "solde": NUMBER}))})
EVALUATION_SCHEMA = response_object({
    "droit": DROIT, "controles": {"type": "array", "items": CONTROLE},
    "erreurs": {"type": "object", "additionalProperties": {"type": "string"}},
    "transmissible": {"type": "boolean"},
    "justifications_manquantes": {"type": "array", "items": {"type": "string"}}})
TRANSMISSION_SCHEMA = response_object({
    "numero": {"type": "integer"}, "empreinte": {"type": "string"}, "transmise_le": DATE_TIME,
    "en_retard": {"type": "boolean"}, "avant_ouverture": {"type": "boolean"}, "droit": nullable(NUMBER),
    "declaration": DECLARATION_SCHEMA})


def create_body() -> dict:
    return request_object({
        "equipement_id": {"type": "integer", "minimum": 0, "maximum": ID_MAX},
        "annee": {"type": "integer", "minimum": FIRST_YEAR, "maximum": services.today().year + 2},
        "type": {"type": "string", "enum": list(DECLARATION_TYPES)},
        "donnees": DONNEES_IN, "justifications": JUSTIFICATIONS_IN}, required=("equipement_id", "annee", "type"))


UPDATE_BODY = request_object({"donnees": DONNEES_IN, "justifications": JUSTIFICATIONS_IN})
CHECKS_BODY = request_object({"donnees": DONNEES_IN})
TRANSMISSION_BODY = request_object({"justifications": JUSTIFICATIONS_IN})


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def _declaration(did: int) -> Declaration:
    decl = db.session.get(Declaration, did)
    if decl is None or decl.equipement.organisation_id != g.api_organisation.id:
        raise ApiError(404, "Introuvable", "Aucune déclaration avec cet identifiant.")
    return decl


def _actor():
    return g.api_token.created_by


def _integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _object(body: dict, name: str) -> dict | None:
    """`body[name]`: None when absent; a JSON object, or 422 (null included: nothing is
    silently read as empty)."""
    if name not in body:
        return None
    value = body[name]
    if not isinstance(value, dict):
        raise ApiError(422, "Données invalides", f"`{name}` doit être un objet.", errors={name: "Objet attendu."})
    return value


def _justifications(body: dict) -> dict | None:
    justifications = _object(body, "justifications")
    if justifications is not None:
        wrong = {f"justification_{k}": "Texte attendu." for k, v in justifications.items() if not isinstance(v, str)}
        if wrong:
            raise ApiError(422, "Données invalides", "Chaque justification est un texte.", errors=wrong)
    return justifications


def _shape_errors(equipement_type: str, donnees: dict) -> dict:
    """What the document refuses in `donnees`: a key that is no field of the équipement's
    type, a value that is not a number, a text, a boolean or null."""
    errors = {k: "Champ inconnu pour ce type d'équipement." for k in unknown_keys(equipement_type, donnees)}
    for key, value in donnees.items():
        if isinstance(value, (dict, list)):
            errors[key] = "Saisissez un nombre."
    return errors


def _check_data(equipement_type: str, donnees) -> dict:
    if donnees is None:
        return {}
    errors = _shape_errors(equipement_type, donnees)
    parsed = parse_declaration(equipement_type, {k: v for k, v in donnees.items() if not isinstance(v, (dict, list))})
    errors.update(parsed.messages)
    if errors:
        raise ApiError(422, "Données invalides", f"{accord(len(errors), 'champ')} en erreur.", errors=errors)
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
    "responses": {"200": {"description": "Liste des équipements, avec les champs de leurs déclarations",
                          "content": _json({"type": "array", "items": response_object({
                              "id": {"type": "integer"}, "type": {"type": "string"}, "nom": {"type": "string"},
                              "numero": {"type": "string"}, "activite": nullable({"type": "string"}),
                              "service_actif": {"type": "boolean"},
                              "statut_convention": {"type": "string", "enum": list(STATUTS)},
                              "statut_convention_libelle": {"type": "string"},
                              "champs": {"type": "array", "items": response_object({
                                  "cle": {"type": "string"}, "libelle": {"type": "string"},
                                  "nature": {"type": "string"}, "maximum": nullable(NUMBER)})}})})}}})
def api_equipements():
    rows = services.equipements_of(g.api_organisation.id)
    today = services.today()
    statuts = {e.id: statut(e.conventions, today) for e in rows}
    return jsonify([{"id": e.id, "type": e.type, "nom": e.nom, "numero": e.numero, "activite": e.activite,
                     "service_actif": statuts[e.id] != "sans_convention", "statut_convention": statuts[e.id],
                     "statut_convention_libelle": STATUTS[statuts[e.id]],
                     "champs": [{"cle": f.key, "libelle": f.label, "nature": f.kind, "maximum": f.maximum or None}
                                for f in fields_for(e.type)]} for e in rows])


@bp.get("/afas/campagnes")
@api_scope("AFAS")
@openapi("/afas/campagnes", "get", {
    "summary": "Fenêtres des campagnes (ouverture, échéance) par exercice", "tags": ["AFAS"],
    "parameters": [{"name": "annee", "in": "query", "description": "sans lui : l'année passée, "
                    "l'année en cours et la suivante",
                    "schema": {"type": "integer", "minimum": 2000, "maximum": 2100}}],
    "responses": {"200": {"description": "Campagnes", "content": _json({"type": "array", "items": response_object({
        "annee": {"type": "integer"}, "type": {"type": "string", "enum": list(DECLARATION_TYPES)},
        "ouverture": DATE, "echeance": DATE})})}}})
def api_campagnes():
    year = services.today().year
    annee = int_arg("annee", 0, minimum=2000, maximum=2100, blank_is_absent=False)
    years = [annee] if annee else list(range(year - 1, year + 2))
    rows = services.campaign_rows(years)
    return jsonify([{"annee": c.annee, "type": c.type_declaration, "ouverture": c.ouverture.isoformat(),
                     "echeance": c.echeance.isoformat()} for c in rows])


@bp.post("/afas/declarations")
@api_scope("AFAS")
@openapi("/afas/declarations", "post", lambda app: {
    "summary": "Créer un brouillon de déclaration (pré-rempli depuis la précédente, puis `donnees`)", "tags": ["AFAS"],
    "requestBody": {"required": True, "content": _json(create_body())},
    "responses": {"201": {"description": "Brouillon créé", "headers": {"Location": {"schema": {"type": "string"}}},
                          "content": _json(DECLARATION_SCHEMA)},
                  "404": problem_doc("Équipement inconnu ou d'une autre organisation"),
                  "409": problem_doc("Cette déclaration existe déjà pour l'équipement, ou l'équipement n'a pas de "
                                     "convention signée en vigueur (service AFAS inactif)"), "422": FIELD_ERRORS}})
def api_create():
    body = json_body()
    refuse_unknown(body, create_body())
    equipement_id, annee, type_ = body.get("equipement_id"), body.get("annee"), body.get("type")
    errors = {}
    if not _integer(equipement_id):
        errors["equipement_id"] = "Identifiant d'équipement attendu (entier)."
    if not _integer(annee):
        errors["annee"] = "Exercice attendu (entier)."
    if not isinstance(type_, str) or type_ not in DECLARATION_TYPES:
        errors["type"] = f"Type attendu parmi : {', '.join(DECLARATION_TYPES)}."
    if errors:
        raise ApiError(422, "Données invalides", "Requête incomplète.", errors=errors)
    donnees, justifications = _object(body, "donnees"), _justifications(body)
    eq = db.session.get(Equipement, equipement_id) if is_id(equipement_id) else None
    if eq is None or eq.organisation_id != g.api_organisation.id:
        raise ApiError(404, "Introuvable", "Aucun équipement avec cet identifiant.")
    donnees = _check_data(eq.type, donnees)
    try:
        decl = services.create_declaration(eq, annee, type_, _actor())
        if donnees or justifications:
            services.save_draft(decl, {**decl.data, **donnees}, justifications, _actor())
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
    "parameters": [ID_PARAMETER],
    "responses": {"200": {"description": "Déclaration", "content": _json(DECLARATION_SCHEMA)}}})
def api_get(did):
    return jsonify(represent(_declaration(did)))


@bp.put("/afas/declarations/<int:did>")
@api_scope("AFAS")
@openapi("/afas/declarations/{id}", "put", {
    "summary": "Mettre à jour le brouillon (champs fournis ; les autres sont conservés)", "tags": ["AFAS"],
    "parameters": [ID_PARAMETER],
    "requestBody": {"required": True, "content": _json(UPDATE_BODY)},
    "responses": {"200": {"description": "Brouillon enregistré", "content": _json(DECLARATION_SCHEMA)},
                  "409": problem_doc("La déclaration n'est plus modifiable, ou l'équipement n'a pas de convention "
                                     "signée en vigueur (service AFAS inactif)"), "422": FIELD_ERRORS}})
def api_update(did):
    decl = _declaration(did)
    body = json_body()
    refuse_unknown(body, UPDATE_BODY)
    justifications = _justifications(body)
    donnees = _check_data(decl.equipement.type, _object(body, "donnees"))
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
    "parameters": [ID_PARAMETER],
    "requestBody": {"required": False, "content": _json(CHECKS_BODY)},
    "responses": {"200": {"description": "Contrôles (code, sévérité, message), erreurs par champ, droit pas à pas",
                          "content": _json(EVALUATION_SCHEMA)}}})
def api_checks(did):
    decl = _declaration(did)
    body = json_body(optional=True)
    refuse_unknown(body, CHECKS_BODY)
    donnees = _object(body, "donnees")
    errors = _shape_errors(decl.equipement.type, donnees or {})
    if errors:
        raise ApiError(422, "Données invalides", f"{accord(len(errors), 'champ')} en erreur.", errors=errors)
    raw = decl.data if donnees is None else {**decl.data, **donnees}
    evaluation = services.evaluate_declaration(decl, raw)
    return jsonify({**evaluation.as_dict(),
                    "justifications_manquantes": [c.code for c in evaluation.missing_justifications(decl.justifications)]})


@bp.post("/afas/declarations/<int:did>/transmission")
@api_scope("AFAS")
@openapi("/afas/declarations/{id}/transmission", "post", {
    "summary": "Transmettre la déclaration (contrôles refaits ; chaque alerte doit être justifiée)", "tags": ["AFAS"],
    "parameters": [ID_PARAMETER],
    "requestBody": {"required": False, "content": _json(TRANSMISSION_BODY)},
    "responses": {"201": {"description": "Version figée : numéro, empreinte SHA-256, horodatage, retard",
                          "content": _json(TRANSMISSION_SCHEMA)},
                  "409": problem_doc("Déjà transmise, réel avant la fin de l'exercice, ou équipement sans "
                                     "convention signée en vigueur (service AFAS inactif)"),
                  "422": problem_doc("Points bloquants ou alertes non justifiées (`errors`, `controles`), "
                                     "ou corps invalide")}})
def api_transmit(did):
    decl = _declaration(did)
    body = json_body(optional=True)
    refuse_unknown(body, TRANSMISSION_BODY)
    justifications = _justifications(body)
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
