"""Deny by default: every view declares who may use it.

    @bp.get("/declarations")
    @requires(roles={"partner_manager"}, service="AFAS")
    def list_declarations(): ...

    @public                      # sign-in page, static assets, health check
    @api_scope("EDI")            # machine clients with a Bearer token (see portal.api)

A single `before_request` hook (installed by the app factory) enforces the declaration of the
endpoint being called; an endpoint without one answers 403, and a test walks the URL map and
fails on any route that has none.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

from flask import abort, current_app, g, redirect, request, url_for
from flask_login import current_user

ATTR = "access_rule"


@dataclass(frozen=True)
class AccessRule:
    kind: str  # "public", "user", "api"
    roles: frozenset[str] = field(default_factory=frozenset)
    service: str | None = None
    scope: str | None = None
    allow_without_mfa: bool = False  # only for the MFA pages themselves


def _declare(view: Callable, rule: AccessRule) -> Callable:
    setattr(view, ATTR, rule)
    return view


def public(view: Callable) -> Callable:
    return _declare(view, AccessRule(kind="public"))


def requires(roles: Iterable[str], service: str | None = None, allow_without_mfa: bool = False):
    """Signed-in user with one of `roles`, MFA done if required, and (if given) an active
    habilitation for `service` under an active contract of their organisation."""
    rule = AccessRule(kind="user", roles=frozenset(roles), service=service,
                      allow_without_mfa=allow_without_mfa)

    def decorator(view: Callable) -> Callable:
        return _declare(view, rule)

    return decorator


ANY_SCOPE = "*"


def api_scope(scope: str):
    """Machine client with a Bearer token holding `scope` (checked by portal.api);
    `api_scope(ANY_SCOPE)`: any valid token (introspection)."""
    def decorator(view: Callable) -> Callable:
        return _declare(view, AccessRule(kind="api", scope=scope))

    return decorator


# Static files (the app's and each blueprint's `static_folder`) are public: CSS, JS, fonts.
STATIC_RULE = AccessRule(kind="public")


def is_static_endpoint(endpoint: str) -> bool:
    return endpoint == "static" or endpoint.endswith(".static")


def rule_for_endpoint(endpoint: str | None) -> AccessRule | None:
    if endpoint is None:
        return None
    if is_static_endpoint(endpoint):
        return STATIC_RULE
    view = current_app.view_functions.get(endpoint)
    return getattr(view, ATTR, None) if view else None


def rule_allows(rule: AccessRule, role: str, usable_services) -> bool:
    """Role and habilitation part of a rule, for a role and the set of services usable now
    (those whose `User.habilitation` is not None): the one test behind `user_may` and the menu
    (portal.layout, which caches a menu per role and service set)."""
    if rule.roles and role not in rule.roles:
        return False
    return not rule.service or rule.service in usable_services


def user_may(user, rule: AccessRule) -> bool:
    """Role and habilitation part of a rule (MFA is checked separately by the hook)."""
    if not user.is_authenticated:
        return False
    usable = () if not rule.service or user.habilitation(rule.service) is None else (rule.service,)
    return rule_allows(rule, user.role, usable)


def user_may_open(user, endpoint: str) -> bool:
    """Whether `user` may open the page of `endpoint` (its declared rule): what a panel asks
    before offering a link to it, so that nobody is shown a link that answers 403."""
    rule = rule_for_endpoint(endpoint)
    return rule is not None and rule.kind == "user" and user_may(user, rule)


def enforce_access():
    """before_request hook: apply the endpoint's declaration, deny if there is none."""
    if request.endpoint is None:
        return None  # 404/405 handled by Flask
    rule = rule_for_endpoint(request.endpoint)
    if rule is None:
        current_app.logger.error("route sans déclaration d'accès : %s", request.endpoint)
        abort(403)
    if rule.kind == "public":
        return None
    if rule.kind == "api":
        from .api import authenticate_bearer  # late import: api depends on access
        authenticate_bearer(rule)
        return None
    if not current_user.is_authenticated:
        if request.method == "GET":
            return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
        abort(401)
    if current_user.mfa_required and not rule.allow_without_mfa and not g.get("mfa_verified"):
        if current_user.totp_secret and current_user.mfa_enrolled_at:
            return redirect(url_for("accounts.mfa_verify"))
        return redirect(url_for("accounts.mfa_enrol"))
    if not user_may(current_user, rule):
        abort(403)
    return None


def same_organisation_or_404(obj_org_id: int | None) -> None:
    """Another organisation's object answers exactly like a missing one."""
    if current_user.is_caf_staff:
        return
    if obj_org_id != current_user.organisation_id:
        abort(404)


def get_own_or_404(model, ident: int, owner=lambda obj: obj.organisation_id):
    """The `model` row `ident`, if it exists and the signed-in user's organisation owns it
    (`owner(obj)` gives the owning organisation's id; Caf staff see every organisation's):
    404 otherwise, the same answer for a missing object and another organisation's."""
    from .extensions import db
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404)
    same_organisation_or_404(owner(obj))
    return obj


# Every signed-in role (for pages such as the home page or logout).
from .models import ALL_ROLES as ALL_ROLES_ANY  # noqa: E402, F401  (re-exported for @requires)
