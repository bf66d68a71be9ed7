"""CDAP API: the same consultation as the page, for partners' software (scope CDAP, the
token's profil). Same policy, same journal, same atypical-use checks."""
from __future__ import annotations

from flask import current_app, g, jsonify

from portal.access import api_scope
from portal.api import ApiError, bp, json_body, openapi, problem, problem_doc
from portal.extensions import db
from portal.models import utcnow

from . import atypical, services
from .policy import POLICY, motifs_for


SUSPENDED_TITLE = "Habilitation suspendue"


def _suspended(until) -> ApiError:
    return ApiError(403, SUSPENDED_TITLE,
                    "Usage atypique détecté : l'habilitation CDAP de ce jeton est suspendue jusqu'au "
                    f"{until:%d/%m/%Y %H:%M} UTC. La Caf a été prévenue.")


def _actor() -> services.Actor:
    token = g.api_token
    org = g.api_organisation
    contrat = org.active_contrat("CDAP")
    profile = token.profil
    if profile not in POLICY or contrat is None or profile not in (contrat.profils or []):
        raise ApiError(403, "Accès refusé", "Ce jeton ne porte aucun profil CDAP autorisé par le contrat.")
    # Same policy as the pages (a suspended habilitation gives no access): nothing is journaled.
    until = atypical.token_suspended_until(token.id)
    if until is not None:
        raise _suspended(until)
    return services.Actor(profile=profile, organisation_id=org.id, code_bailleur=org.code_bailleur,
                          territoire=org.territoire, api_token_id=token.id)


DOSSIER_SCHEMA = {
    "type": "object",
    "description": "Seules les sections et les champs permis par le profil du jeton sont présents. "
                   "Montants en centimes, dates ISO 8601, mois AAAA-MM.",
    "properties": {
        "profil": {"type": "string"}, "sections": {"type": "array", "items": {"type": "string"}},
        "identite": {"type": "object"}, "adresse": {"type": "object"}, "foyer": {"type": "object"},
        "quotient_familial": {"type": "array"}, "droits": {"type": "array"},
        "paiements": {"type": "array"}, "logement": {"type": "array"}, "impayes": {"type": "array"},
    },
}


@bp.post("/cdap/consultations")
@api_scope("CDAP")
@openapi("/cdap/consultations", "post", {
    "summary": "Consulter un dossier allocataire (CDAP)",
    "description": "Numéro allocataire ET nom exact (casse et accents indifférents), motif obligatoire. "
                   "Chaque tentative est journalisée. Un dossier hors périmètre répond exactement comme "
                   "un dossier inexistant (404).",
    "tags": ["CDAP"],
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["numero_allocataire", "nom", "motif"],
        "properties": {"numero_allocataire": {"type": "string", "pattern": "^[0-9]{7}$"},
                       "nom": {"type": "string", "maxLength": 100},
                       "motif": {"type": "string", "description": "code de GET /cdap/motifs"},
                       "commentaire": {"type": "string", "maxLength": 300}}}}}},
    "responses": {
        "200": {"description": "Dossier, limité au profil", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"dossier": DOSSIER_SCHEMA, "request_id": {"type": "string"}}}}}},
        "404": problem_doc("Aucun dossier accessible (inexistant ou hors périmètre)"),
        "422": problem_doc("Saisie invalide ou motif manquant (erreurs par champ dans `errors`)"),
        "401": problem_doc("Jeton absent ou invalide"),
        "403": problem_doc("Jeton sans portée CDAP ou sans profil, ou habilitation suspendue"),
    },
})
def api_consult():
    actor = _actor()
    body = json_body()  # a body that is not a JSON object is refused (400) before any lookup
    fields = {k: body.get(k) if isinstance(body.get(k), str) else "" for k in
              ("numero_allocataire", "nom", "motif", "commentaire")}
    result = services.consult(
        actor, numero=fields["numero_allocataire"], nom=fields["nom"], motif=fields["motif"],
        commentaire=fields["commentaire"], channel="api", secret=current_app.config["SECRET_KEY"],
        settings=current_app.config["CDAP_SETTINGS"], request_id=g.get("request_id"))
    db.session.commit()
    if result.suspended:
        raise _suspended(atypical.token_suspended_until(actor.api_token_id) or utcnow())
    if result.found:
        return jsonify(dossier=result.view, request_id=g.get("request_id"))
    if result.errors:
        errors = {("numero_allocataire" if k == "numero" else k): v for k, v in result.errors.items()}
        title = "Motif obligatoire" if result.outcome == "refused_motif" else "Saisie invalide"
        return problem(422, title, "Aucune donnée n'est communiquée.", errors=errors)
    return problem(404, "Dossier introuvable", services.NOT_FOUND_MESSAGE)


@bp.get("/cdap/motifs")
@api_scope("CDAP")
@openapi("/cdap/motifs", "get", {
    "summary": "Motifs de consultation permis au profil du jeton", "tags": ["CDAP"],
    "responses": {"200": {"description": "Liste code / libellé"}},
})
def api_motifs():
    actor = _actor()
    return jsonify(profil=actor.profile,
                   motifs=[{"code": c, "libelle": label} for c, label in motifs_for(actor.profile).items()])
