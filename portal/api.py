"""API plumbing for machine clients under /api/v1.

- `Authorization: Bearer <token>`: tokens are created by partner admins, stored hashed,
  scoped to services, expiring and revocable; `g.api_token` / `g.api_organisation` are set.
- Errors are `application/problem+json` (RFC 9457): `problem(...)` writes them, `ApiError`
  raises one, `problem_doc(...)` documents one in OpenAPI.
- JSON bodies are read by `json_body()` only: 400 problem+json for a body that is not a JSON
  object (malformed, other Content-Type, too deep, numbers out of range), 413 beyond
  MAX_JSON_BYTES.
- Each endpoint documents itself with `@openapi(...)`; the document is served at
  /api/v1/openapi.json. Domains add routes to `bp` from their own modules.
- API routes are CSRF-exempt (no cookies are used), and never use the session.
"""
from __future__ import annotations

import hashlib

from flask import Blueprint, Flask, abort, current_app, g, jsonify, request
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from . import registry
from .access import ANY_SCOPE, ATTR, api_scope, public
from .database import best_effort
from .extensions import csrf, db
from .inputs import JsonRefused
from .models import ApiToken, Organisation, utcnow

bp = Blueprint("api", __name__, url_prefix="/api/v1")
TOKEN_PREFIX = "ep_"

OPENAPI_KEY = "openapi_paths"
PROBLEM_MIMETYPE = "application/problem+json"
MAX_JSON_BYTES = 100_000


def problem(status: int, title: str, detail: str | None = None, **extra):
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_MIMETYPE
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="extranet-partenaires"'
    return response


class ApiError(Exception):
    """Raise from an API view to answer problem+json with field errors."""
    def __init__(self, status: int, title: str, detail: str | None = None, **extra):
        super().__init__(title)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra


def problem_doc(description: str) -> dict:
    """An OpenAPI response answered with problem+json."""
    return {"description": description,
            "content": {PROBLEM_MIMETYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def nullable(schema: dict) -> dict:
    """`schema`, or null."""
    kind = schema.get("type")
    if isinstance(kind, str):
        return {**schema, "type": [kind, "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def response_object(properties: dict, **extra) -> dict:
    """The schema of a JSON object the API answers: every property listed is always present
    (`required`); a property that may be null says so (`nullable`)."""
    return {"type": "object", "required": list(properties), "properties": properties, **extra}


def request_object(properties: dict, required: tuple[str, ...] = (), **extra) -> dict:
    """The schema of a JSON body: no other property is accepted (`additionalProperties: false`;
    `refuse_unknown` answers 422 for one)."""
    return {"type": "object", **({"required": list(required)} if required else {}),
            "properties": properties, "additionalProperties": False, **extra}


def refuse_unknown(body: dict, schema: dict) -> None:
    """422 problem+json naming every property of `body` that `schema` (a `request_object`) does
    not declare."""
    unknown = sorted(k for k in body if k not in schema["properties"])
    if unknown:
        raise ApiError(422, "Données invalides", (f"Propriété inconnue : {unknown[0]}." if len(unknown) == 1
                        else f"Propriétés inconnues : {', '.join(unknown)}."),
                       errors={k: "Propriété inconnue." for k in unknown})


def json_body(*, optional: bool = False, max_bytes: int = MAX_JSON_BYTES) -> dict:
    """The request's body, a JSON object, for every API endpoint that takes one.

    `optional`: no body at all reads as `{}`. Anything else than a JSON object sent as JSON is an
    ApiError 400 (French detail saying what is wrong), or 413 beyond `max_bytes`; the shell's
    JSON loader (portal.inputs) refuses deep nesting and out-of-range numbers."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise ApiError(413, "Requête trop volumineuse", f"Le corps dépasse {max_bytes} octets.")
    data = request.get_data(cache=True)
    if len(data) > max_bytes:
        raise ApiError(413, "Requête trop volumineuse", f"Le corps dépasse {max_bytes} octets.")
    if not data.strip():
        if optional:
            return {}
        raise ApiError(400, "Requête invalide", "Corps de requête absent : un objet JSON est attendu.")
    if not request.is_json:
        raise ApiError(400, "Requête invalide", "Le corps doit être envoyé en JSON "
                                                "(Content-Type: application/json).")
    try:
        body = current_app.json.loads(data)
    except JsonRefused as exc:
        raise ApiError(400, "Requête invalide", str(exc)) from None
    except ValueError:
        raise ApiError(400, "Requête invalide", "Le corps n'est pas un JSON valide.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "Requête invalide", "Le corps doit être un objet JSON ({...}).")
    return body


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


_TOKEN_WITH_ORGANISATION = None


def _token_statement():
    """The token with its organisation and contracts in one round trip (every API call reads
    them); built once per process: building the statement and its loader options cost about as
    much CPU as running it (the same as the session's, portal.accounts.sessions)."""
    global _TOKEN_WITH_ORGANISATION
    if _TOKEN_WITH_ORGANISATION is None:
        _TOKEN_WITH_ORGANISATION = (
            select(ApiToken).where(ApiToken.token_hash == bindparam("token_hash"))
            .options(joinedload(ApiToken.organisation).joinedload(Organisation.contrats)))
    return _TOKEN_WITH_ORGANISATION


def authenticate_bearer(rule) -> None:
    """Called by the access hook for `@api_scope` endpoints."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or len(header) > 200:
        abort(problem(401, "Authentification requise", "Jeton d'accès absent ou mal formé."))
    raw = header[len("Bearer "):].strip()
    token = db.session.scalars(_token_statement(), {"token_hash": hash_token(raw)}).unique().first()
    now = utcnow()
    if token is None or not token.is_usable(now):
        abort(problem(401, "Authentification requise", "Jeton d'accès invalide, expiré ou révoqué."))
    if rule.scope != ANY_SCOPE and (rule.scope not in (token.scopes or [])
                                    or token.organisation.active_contrat(rule.scope) is None):
        abort(problem(403, "Accès refusé", f"Ce jeton n'a pas la portée {rule.scope}."))
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        best_effort("api_tokens.last_used_at", lambda: setattr(token, "last_used_at", now))
    g.api_token = token
    g.api_organisation = token.organisation


def openapi(path: str, method: str, spec):
    """Attach an OpenAPI operation to a view; collected into the served document. ``spec`` is
    a dict, or ``fn(app) -> dict`` for an operation that depends on what the domains declared."""
    def decorator(view):
        current = getattr(view, "_openapi", [])
        view._openapi = current + [(path, method.lower(), spec)]
        return view
    return decorator


BODY_PROBLEMS = {
    "400": problem_doc("Corps invalide : pas un objet JSON, mal formé, trop imbriqué (32 niveaux "
                       "au plus), nombre hors limites ou Content-Type autre que application/json"),
    "413": problem_doc(f"Corps trop volumineux (plus de {MAX_JSON_BYTES} octets)"),
}
CLOSED_BODY_PROBLEM = {"422": problem_doc("Données invalides : propriété inconnue, valeur du mauvais "
                                          "type ou hors limites (un message par champ dans `errors`)")}


def _common_responses(view, spec: dict) -> dict:
    """The problem+json answers every operation of its kind can give, whatever its handler
    does: 401/403 from its access declaration, 404 for an unknown object in its path, 400 for
    a bad query parameter, 400/413/422 for its JSON body. The operation's own `responses`
    come after (a more precise description wins)."""
    out: dict = {}
    parameters = spec.get("parameters", [])
    if any(p.get("in") == "query" for p in parameters):
        out["400"] = problem_doc("Paramètre de requête invalide (le `detail` dit lequel)")
    body = spec.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None:
        out.update(BODY_PROBLEMS)
        if body.get("schema", {}).get("additionalProperties") is False:
            out.update(CLOSED_BODY_PROBLEM)
    rule = getattr(view, ATTR, None)
    if rule is not None and rule.kind == "api":
        out["401"] = problem_doc("Jeton absent, mal formé, invalide, expiré ou révoqué")
        if rule.scope != ANY_SCOPE:
            out["403"] = problem_doc(f"Jeton sans la portée {rule.scope}, ou contrat {rule.scope} "
                                     "de l'organisation inactif")
    if any(p.get("in") == "path" for p in parameters):
        out["404"] = problem_doc("Inconnu, ou d'une autre organisation (même réponse)")
    return out


def build_openapi(app: Flask) -> dict:
    paths: dict = {}
    for view in app.view_functions.values():
        for path, method, spec in getattr(view, "_openapi", []):
            spec = spec(app) if callable(spec) else spec
            responses = {**_common_responses(view, spec), **spec.get("responses", {})}
            spec = {**spec, "responses": dict(sorted(responses.items()))}
            paths.setdefault(path, {})[method] = spec
    scopes = ", ".join(registry.of(app).services)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Extranet Partenaires — API", "version": "1.0.0",
                 "description": f"API des partenaires de la Caf ({scopes}). "
                                "Authentification : `Authorization: Bearer <jeton>`. "
                                "Erreurs au format application/problem+json."},
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Problem": {
                "type": "object", "description": "Erreur au format RFC 9457 (titre et détail en français)",
                "required": ["type", "title", "status"],
                "properties": {
                    "type": {"type": "string"}, "title": {"type": "string"},
                    "status": {"type": "integer", "minimum": 400, "maximum": 599},
                    "detail": {"type": "string"},
                    "errors": {"type": "object", "additionalProperties": {"type": "string"},
                               "description": "un message par champ en erreur"},
                    "controles": {"type": "array", "items": {"type": "object"},
                                  "description": "AFAS : les points de contrôle de la déclaration"},
                    "retry_after": {"type": "integer", "description": "secondes avant de redemander"}},
                "additionalProperties": False}},
        },
        "security": [{"bearer": []}],
        "paths": dict(sorted(paths.items())),
    }


@bp.get("/openapi.json")
@public
def openapi_document():
    return jsonify(build_openapi(current_app))


def _profil_key(code: str) -> str:
    """The token's profile for a service with profiles, under its own key (``profil_cdap``)."""
    return f"profil_{code.lower()}"


def _whoami_spec(app: Flask) -> dict:
    contributions = registry.of(app)
    profiled = contributions.profiled_services()
    return {
        "summary": "Introspection du jeton utilisé",
        "description": "Organisation, services (portées), profil"
                       + (f" {', '.join(profiled)}" if profiled else "") + " et expiration du jeton présenté. "
                       "Accepte tout jeton valide, quelle que soit sa portée.",
        "tags": ["Jetons"],
        "responses": {
            "200": {"description": "Le jeton est valide", "content": {"application/json": {"schema": response_object({
                "organisation": response_object({
                    "id": {"type": "integer"}, "nom": {"type": "string"},
                    "siret": nullable({"type": "string"}), "code_bailleur": nullable({"type": "string"})}),
                "jeton": response_object({
                    "nom": {"type": "string"}, "prefixe": {"type": "string"},
                    "portees": {"type": "array", "items": {"type": "string",
                                                           "enum": list(contributions.services)}},
                    "portees_actives": {"type": "array", "items": {"type": "string",
                                                                   "enum": list(contributions.services)}},
                    **{_profil_key(code): nullable({"type": "string"}) for code in profiled},
                    "expire_le": {"type": "string", "format": "date-time"}})})}}},
        },
    }


@bp.get("/moi")
@api_scope(ANY_SCOPE)
@openapi("/moi", "get", _whoami_spec)
def whoami():
    token, org = g.api_token, g.api_organisation
    scopes = list(token.scopes or [])
    return jsonify({
        "organisation": {"id": org.id, "nom": org.nom, "siret": org.siret, "code_bailleur": org.code_bailleur},
        "jeton": {"nom": token.nom, "prefixe": token.prefix, "portees": scopes,
                  "portees_actives": [s for s in scopes if org.active_contrat(s) is not None],
                  **{_profil_key(code): token.profil if code in scopes else None
                     for code in registry.current().profiled_services()},
                  "expire_le": token.expires_at.isoformat(timespec="seconds") + "Z"},
    })


def init_api(app: Flask) -> None:
    csrf.exempt(bp)

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return problem(exc.status, exc.title, exc.detail, **exc.extra)
