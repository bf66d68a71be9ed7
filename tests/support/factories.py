"""Small factories: each returns a flushed object with sensible defaults."""
from __future__ import annotations

import itertools
import secrets
from datetime import timedelta

import pyotp

from portal.extensions import db
from portal.models import ApiToken, Contrat, Habilitation, Organisation, User, utcnow

_seq = itertools.count(1)
PASSWORD = "correct horse battery staple"
_PASSWORD_HASH = None


def _password_hash():
    global _PASSWORD_HASH
    if _PASSWORD_HASH is None:
        from portal.passwords import hash_password
        _PASSWORD_HASH = hash_password(PASSWORD)
    return _PASSWORD_HASH


def organisation(kind: str = "association", services: dict | None = None, **fields) -> Organisation:
    """services: {"AFAS": [], "CDAP": ["travailleur_social"], "EDI": []} -> active contrats (with their profils)."""
    n = next(_seq)
    org = Organisation(
        nom=fields.pop("nom", f"Organisation {n}"), kind=kind,
        siret=fields.pop("siret", f"{n:014d}"), territoire=fields.pop("territoire", "80"),
        code_bailleur=fields.pop("code_bailleur", f"BL{n:06d}" if kind == "bailleur" else None),
        **fields,
    )
    for service, profiles in (services or {}).items():
        org.contrats.append(Contrat(service=service, profils=list(profiles or []),
                                    debut=utcnow() - timedelta(days=1)))
    db.session.add(org)
    db.session.flush()
    return org


def caf(**fields) -> Organisation:
    return organisation("caf", services={"AFAS": [], "CDAP": ["agent_caf"], "EDI": []}, **fields)


def user(org: Organisation | None = None, role: str = "partner_manager",
         habilitations: dict | None = None, mfa: bool | None = None, **fields) -> User:
    """habilitations: {"AFAS": None, "CDAP": "travailleur_social"}; mfa: enrol a TOTP secret
    (default: when the user requires MFA)."""
    n = next(_seq)
    org = org or organisation()
    u = User(organisation=org, role=role, email=fields.pop("email", f"user{n}@example.test"),
             prenom=fields.pop("prenom", "Camille"), nom=fields.pop("nom", f"Test{n}"),
             password_hash=_password_hash(), password_changed_at=utcnow(), **fields)
    for service, profile in (habilitations or {}).items():
        u.habilitations.append(Habilitation(service=service, profil=profile))
    db.session.add(u)
    db.session.flush()
    if mfa is None:
        mfa = u.mfa_required
    if mfa:
        u.totp_secret = pyotp.random_base32()
        u.mfa_enrolled_at = utcnow()
        db.session.flush()
    return u


def api_token(org: Organisation, creator: User, scopes=("EDI",), profil=None,
              days: int = 30) -> tuple[ApiToken, str]:
    from portal.api import TOKEN_PREFIX, hash_token
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(organisation=org, created_by=creator, nom="jeton de test", prefix=raw[:10],
                     token_hash=hash_token(raw), scopes=list(scopes), profil=profil,
                     expires_at=utcnow() + timedelta(days=days))
    db.session.add(token)
    db.session.flush()
    return token, raw


def totp_now(u: User) -> str:
    return pyotp.TOTP(u.totp_secret).now()


def sign_in(client, u: User, mfa: bool = True):
    """Sign in through the real login form (and the MFA step when the user needs it)."""
    response = client.post("/connexion", data={"email": u.email, "password": PASSWORD,
                                               "csrf_token": csrf_token(client, "/connexion")})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    if mfa and u.mfa_required:
        code = totp_now(u)
        response = client.post("/connexion/code", data={"code": code,
                                                        "csrf_token": csrf_token(client, "/connexion/code")})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def csrf_token(client, path: str) -> str:
    """Fetch a page and read its CSRF token (tests keep CSRF on, as in production)."""
    import re
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', html) or re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, f"pas de jeton CSRF sur {path}"
    return match.group(1)
