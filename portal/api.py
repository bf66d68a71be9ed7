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
- API routes are CSRF-exempt (no cookies are used), and never use the session: under /api/ the
  cookie session is neither read nor written (`CookieSessionOffTheApi`).

(Just over 400 lines on purpose: authentication, errors, bodies and the OpenAPI document are
the one contract every domain's API routes share; split, each domain would import four modules
to write one endpoint.)
"""
from __future__ import annotations

import hashlib

from flask import Blueprint, Flask, abort, current_app, g, jsonify, request
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import and_, bindparam, or_, select, update

from . import registry
from .access import ANY_SCOPE, ATTR, api_scope, public
from .database import best_effort
from .extensions import csrf, db
from .inputs import JsonRefused
from .models import ApiToken, Contrat, Organisation, utcnow

bp = Blueprint("api", __name__, url_prefix="/api/v1")
API_PATH = "/api/"
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
    """SHA-256 of the presented token. Tokens are 256 random bits (`secrets.token_urlsafe(32)`):
    a fast hash is the standard for them (no dictionary to slow down, unlike a password), and
    the lookup by digest compares no secret in Python (constant-time question moot)."""
    return hashlib.sha256(raw.encode()).hexdigest()


class _Snapshot:
    """The columns every API call reads, from the one statement of `authenticate_bearer`; any
    other attribute (a relationship such as `created_by`, a column not read) loads the model
    row through the session on first use (identity-mapped: once per request)."""
    _model: type = object

    def __init__(self, values: dict):
        self.__dict__.update(values)

    def model(self):
        """The ORM row (loaded once, on demand)."""
        row = self.__dict__.get("_row")
        if row is None:
            row = self.__dict__["_row"] = db.session.get(self._model, self.id)
        return row

    def __getattr__(self, name: str):  # only for attributes the snapshot does not hold
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.model(), name)


class CallerToken(_Snapshot):
    """`g.api_token`: the token's columns (`id`, `nom`, `prefix`, `scopes`, `profil`,
    `expires_at`, `last_used_at`…) and `scope_state`, the value of the service's
    `token_state` expression (`portal.registry.Service`) for the route's scope."""
    _model = ApiToken


class CallerContrat(_Snapshot):
    _model = Contrat


class CallerOrganisation(_Snapshot):
    """`g.api_organisation`: the organisation's columns, and its active contract for the
    route's scope without another statement (`active_contrat` of another scope asks the model)."""
    _model = Organisation

    def active_contrat(self, service: str):
        if service == self.__dict__.get("_scope"):
            return self.__dict__["_contrat"]
        return self.model().active_contrat(service)


_T, _O, _C = ApiToken.__table__, Organisation.__table__, Contrat.__table__
_TOKEN_COLUMNS = ("id", "organisation_id", "created_by_id", "nom", "prefix", "scopes", "profil",
                  "created_at", "expires_at", "revoked_at", "last_used_at")
_ORG_COLUMNS = ("id", "nom", "kind", "siret", "code_bailleur", "territoire", "suspended_at")
_CONTRAT_COLUMNS = ("id", "service", "profils", "debut", "fin", "suspended_at")
STATEMENTS_KEY = "portal.api.token_statements"


def _token_statement(scope: str):
    """Token, organisation, the organisation's active contract for `scope` and the scope's
    token state, in one statement, built once per scope and per app (the token state is what
    this app's services declare; parameters: digest, now)."""
    statements = current_app.extensions.setdefault(STATEMENTS_KEY, {})
    stmt = statements.get(scope)
    if stmt is not None:
        return stmt
    cols = [_T.c[n].label(f"t_{n}") for n in _TOKEN_COLUMNS] + [_O.c[n].label(f"o_{n}") for n in _ORG_COLUMNS]
    from_ = _T.join(_O, _O.c.id == _T.c.organisation_id)
    if scope != ANY_SCOPE:
        now = bindparam("now")
        # Contrat.is_active, in SQL (the organisation's own suspension is `ApiToken.is_usable`'s).
        from_ = from_.outerjoin(_C, and_(_C.c.organisation_id == _O.c.id, _C.c.service == scope,
                                         _C.c.suspended_at.is_(None), _C.c.debut <= now,
                                         or_(_C.c.fin.is_(None), _C.c.fin > now)))
        cols += [_C.c[n].label(f"c_{n}") for n in _CONTRAT_COLUMNS]
        service = registry.current().services.get(scope)
        if service is not None and service.token_state is not None:
            cols.append(service.token_state(_T.c.id).label("scope_state"))
    stmt = select(*cols).select_from(from_).where(_T.c.token_hash == bindparam("digest"))
    if scope != ANY_SCOPE:
        stmt = stmt.order_by(_C.c.id).limit(1)
    statements[scope] = stmt
    return stmt


def _caller(row, scope: str) -> tuple[CallerToken, CallerOrganisation]:
    m = row._mapping
    token = CallerToken({n: m[f"t_{n}"] for n in _TOKEN_COLUMNS})
    token.scope_state = m.get("scope_state")
    org = CallerOrganisation({n: m[f"o_{n}"] for n in _ORG_COLUMNS})
    if scope != ANY_SCOPE:
        contrat = (CallerContrat({n: m[f"c_{n}"] for n in _CONTRAT_COLUMNS} | {"organisation_id": org.id})
                   if m["c_id"] is not None else None)
        org.__dict__.update(_scope=scope, _contrat=contrat)
    return token, org


def authenticate_bearer(rule) -> None:
    """Called by the access hook for `@api_scope` endpoints: one statement (token, organisation,
    active contract of the scope, the scope's token state), no ORM object, and a write only when
    the token's "last used" stamp is over a minute old."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or len(header) > 200:
        abort(problem(401, "Authentification requise", "Jeton d'accès absent ou mal formé."))
    raw = header[len("Bearer "):].strip()
    now = utcnow()
    row = db.session.connection().execute(_token_statement(rule.scope),
                                          {"digest": hash_token(raw), "now": now}).first()
    token, org = _caller(row, rule.scope) if row is not None else (None, None)
    # ApiToken.is_usable
    if token is None or token.revoked_at is not None or now >= token.expires_at or org.suspended_at is not None:
        abort(problem(401, "Authentification requise", "Jeton d'accès invalide, expiré ou révoqué."))
    if rule.scope != ANY_SCOPE and (rule.scope not in (token.scopes or [])
                                    or org.active_contrat(rule.scope) is None):
        abort(problem(403, "Accès refusé", f"Ce jeton n'a pas la portée {rule.scope}."))
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        # Best effort (#18), at most once a minute per token: not a write per call.
        if best_effort("api_tokens.last_used_at", lambda: db.session.execute(
                update(_T).where(_T.c.id == token.id).values(last_used_at=now))):
            token.last_used_at = now
    g.api_token = token
    g.api_organisation = org


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


class CookieSessionOffTheApi(SecureCookieSessionInterface):
    """The signed-cookie session, except under /api/: a Bearer call neither reads a cookie the
    client may send (no signature check) nor writes one (no Set-Cookie, no `Vary: Cookie`). Its
    session is a fresh, empty one that is never saved: the API never uses the session."""

    def open_session(self, app: Flask, request):
        if request.path.startswith(API_PATH):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session, response) -> None:
        if request.path.startswith(API_PATH):
            return None
        return super().save_session(app, session, response)


def init_api(app: Flask) -> None:
    csrf.exempt(bp)
    app.session_interface = CookieSessionOffTheApi()

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return problem(exc.status, exc.title, exc.detail, **exc.extra)
