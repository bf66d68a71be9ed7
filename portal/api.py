"""API plumbing for machine clients under /api/v1.

- `Authorization: Bearer <token>`: tokens are created by partner admins, stored hashed,
  scoped to services, expiring and revocable; `g.api_token` / `g.api_organisation` are set.
- Errors are `application/problem+json` (RFC 9457).
- Each endpoint documents itself with `@openapi(...)`; the document is served at
  /api/v1/openapi.json. Domains add routes to `bp` from their own modules.
- API routes are CSRF-exempt (no cookies are used), and never use the session.
"""
from __future__ import annotations

import hashlib

from flask import Blueprint, Flask, abort, current_app, g, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from . import registry
from .access import ANY_SCOPE, api_scope, public
from .extensions import csrf, db
from .models import ApiToken, Organisation, utcnow

bp = Blueprint("api", __name__, url_prefix="/api/v1")
TOKEN_PREFIX = "ep_"

OPENAPI_KEY = "openapi_paths"


def problem(status: int, title: str, detail: str | None = None, **extra):
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="extranet-partenaires"'
    return response


class ApiError(Exception):
    """Raise from an API view to answer problem+json with field errors."""
    def __init__(self, status: int, title: str, detail: str | None = None, **extra):
        super().__init__(title)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def authenticate_bearer(rule) -> None:
    """Called by the access hook for `@api_scope` endpoints."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or len(header) > 200:
        abort(problem(401, "Authentification requise", "Jeton d'accès absent ou mal formé."))
    raw = header[len("Bearer "):].strip()
    # The token with its organisation and contracts in one round trip (every API call reads them).
    token = db.session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(raw))
                               .options(joinedload(ApiToken.organisation).joinedload(Organisation.contrats))
                               ).unique().first()
    now = utcnow()
    if token is None or not token.is_usable(now):
        abort(problem(401, "Authentification requise", "Jeton d'accès invalide, expiré ou révoqué."))
    if rule.scope != ANY_SCOPE and (rule.scope not in (token.scopes or [])
                                    or token.organisation.active_contrat(rule.scope) is None):
        abort(problem(403, "Accès refusé", f"Ce jeton n'a pas la portée {rule.scope}."))
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        token.last_used_at = now
        db.session.commit()
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


def build_openapi(app: Flask) -> dict:
    paths: dict = {}
    for endpoint, view in app.view_functions.items():
        for path, method, spec in getattr(view, "_openapi", []):
            paths.setdefault(path, {})[method] = spec(app) if callable(spec) else spec
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
            "schemas": {"Problem": {"type": "object", "properties": {
                "type": {"type": "string"}, "title": {"type": "string"},
                "status": {"type": "integer"}, "detail": {"type": "string"}}}},
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
            "200": {"description": "Le jeton est valide", "content": {"application/json": {"schema": {
                "type": "object", "properties": {
                    "organisation": {"type": "object", "properties": {
                        "id": {"type": "integer"}, "nom": {"type": "string"}, "siret": {"type": ["string", "null"]},
                        "code_bailleur": {"type": ["string", "null"]}}},
                    "jeton": {"type": "object", "properties": {
                        "nom": {"type": "string"}, "prefixe": {"type": "string"},
                        "portees": {"type": "array", "items": {"type": "string",
                                                               "enum": list(contributions.services)}},
                        "portees_actives": {"type": "array", "items": {"type": "string"}},
                        **{_profil_key(code): {"type": ["string", "null"]} for code in profiled},
                        "expire_le": {"type": "string", "format": "date-time"}}}}}}}},
            "401": {"description": "Jeton absent, invalide, expiré ou révoqué",
                    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
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
