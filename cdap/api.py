"""CDAP API: the same consultation as the page, for partners' software (scope CDAP, the
token's profil). Same policy, same journal, same atypical-use checks."""
from __future__ import annotations

from flask import current_app, g, jsonify

from portal.access import api_scope
from portal.api import (ApiError, bp, json_body, openapi, problem, problem_doc, refuse_unknown,
                        request_object, response_object)
from portal.extensions import db
from portal.formatting import date_heure
from portal.models import utcnow

from . import atypical, services
from .policy import MOTIFS, POLICY, SECTIONS, motifs_for


SUSPENDED_TITLE = "Habilitation suspendue"


def _suspended(until) -> ApiError:
    return ApiError(403, SUSPENDED_TITLE,
                    "Usage atypique détecté : l'habilitation CDAP de ce jeton est suspendue jusqu'au "
                    f"{date_heure(until, fuseau=True)}. La Caf a été prévenue.")


def _actor() -> services.Actor:
    token = g.api_token
    org = g.api_organisation
    contrat = org.active_contrat("CDAP")
    profile = token.profil
    if profile not in POLICY or contrat is None or profile not in (contrat.profils or []):
        raise ApiError(403, "Accès refusé", "Ce jeton ne porte aucun profil CDAP autorisé par le contrat.")
    # Same policy as the pages (a suspended habilitation gives no access): nothing is journaled.
    # The suspension was read with the token (portal.api, Service.token_state), no statement here.
    until = atypical.suspended_until_in_force(token.scope_state)
    if until is not None:
        raise _suspended(until)
    return services.Actor(profile=profile, organisation_id=org.id, code_bailleur=org.code_bailleur,
                          territoire=org.territoire, api_token_id=token.id)


OBJECT, ROWS = {"type": "object"}, {"type": "array", "items": {"type": "object"}}
DOSSIER_SCHEMA = {
    "type": "object",
    "description": "Seules les sections et les champs permis par le profil du jeton sont présents. "
                   "Montants en centimes, dates ISO 8601, mois AAAA-MM.",
    "required": ["profil", "sections"],
    "properties": {
        "profil": {"type": "string", "enum": list(POLICY)},
        "sections": {"type": "array", "items": {"type": "string", "enum": list(SECTIONS)}},
        "identite": OBJECT, "adresse": OBJECT, "foyer": OBJECT, "quotient_familial": ROWS, "droits": ROWS,
        "paiements": ROWS, "logement": ROWS, "impayes": ROWS,
    },
}
# The 7 digits and the name the web form asks for (cdap.services.validate_request): a name has at
# least one character that is not a separator.
CONSULTATION_BODY = request_object({
    "numero_allocataire": {"type": "string", "pattern": "^[0-9]{7}$"},
    "nom": {"type": "string", "maxLength": 100, "pattern": "[^\\s\\-'’‐‑]"},
    "motif": {"type": "string", "enum": list(MOTIFS),
              "description": "un code de GET /cdap/motifs (ceux que permet le profil du jeton)"},
    "commentaire": {"type": "string", "maxLength": 300}}, required=("numero_allocataire", "nom", "motif"))


@bp.post("/cdap/consultations")
@api_scope("CDAP")
@openapi("/cdap/consultations", "post", {
    "summary": "Consulter un dossier allocataire (CDAP)",
    "description": "Numéro allocataire ET nom exact (casse et accents indifférents), motif obligatoire. "
                   "Chaque tentative est journalisée. Un dossier hors périmètre répond exactement comme "
                   "un dossier inexistant (404). Un corps qui n'est pas celui décrit ici (propriété "
                   "inconnue, valeur qui n'est pas un texte) est refusé avant toute recherche.",
    "tags": ["CDAP"],
    "requestBody": {"required": True, "content": {"application/json": {"schema": CONSULTATION_BODY}}},
    "responses": {
        "200": {"description": "Dossier, limité au profil", "content": {"application/json": {"schema": response_object({
            "dossier": DOSSIER_SCHEMA, "request_id": {"type": "string"}})}}},
        "404": problem_doc("Aucun dossier accessible (inexistant ou hors périmètre)"),
        "422": problem_doc("Saisie invalide, motif manquant ou non permis au profil, propriété inconnue "
                           "(erreurs par champ dans `errors`)"),
        "403": problem_doc("Jeton sans portée CDAP ou sans profil, ou habilitation suspendue"),
    },
})
def api_consult():
    actor = _actor()
    body = json_body()  # a body that is not a JSON object is refused (400) before any lookup
    refuse_unknown(body, CONSULTATION_BODY)  # … and one that is not the documented object (422)
    wrong = {k: "Texte attendu." for k, v in body.items() if not isinstance(v, str)}
    if wrong:
        raise ApiError(422, "Saisie invalide", "Aucune donnée n'est communiquée.", errors=wrong)
    fields = {k: body.get(k, "") for k in ("numero_allocataire", "nom", "motif", "commentaire")}
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
    "responses": {
        "200": {"description": "Liste code / libellé", "content": {"application/json": {"schema": response_object({
            "profil": {"type": "string", "enum": list(POLICY)},
            "motifs": {"type": "array", "items": response_object({
                "code": {"type": "string", "enum": list(MOTIFS)}, "libelle": {"type": "string"}})}})}}},
        "403": problem_doc("Jeton sans portée CDAP ou sans profil, ou habilitation suspendue")},
})
def api_motifs():
    actor = _actor()
    return jsonify(profil=actor.profile,
                   motifs=[{"code": c, "libelle": label} for c, label in motifs_for(actor.profile).items()])
