"""Administration state changes: users, habilitations, API tokens (partner admins) and
organisations, contracts, suspensions (Caf admins). Each function checks its business rules,
writes its audit entry and flushes; the caller (view, CLI) commits, views stay thin — except
the named exceptions that commit here (tests/portal/test_transaction_rule.py). Errors are `AdminError` with a French
message (and the form field it concerns).

(Over 400 lines on purpose: partner and Caf administration share the same rules — who may grant
what, suspensions, the audit entry of each change — and are reviewed together.)"""
from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from .. import audit, jobs, registry
from ..accounts import sessions
from ..audit import record_event
from ..extensions import db
from ..models import (
    CAF_ROLES,
    PARTNER_ROLES,
    ApiToken,
    Contrat,
    Habilitation,
    Organisation,
    OrganisationKind,
    User,
    utcnow,
)
from portal.dates import naive_utc
from portal.formatting import date_heure

# A habilitation suspended "until further notice" (the model keeps an end date).
INDEFINITE = naive_utc(datetime(9999, 12, 31, tzinfo=UTC))


class AdminError(Exception):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field


# Least privileged first: the administrators come last.
ROLE_ORDER = ("partner_manager", "bailleur_operator", "travailleur_social", "partner_admin",
              "caf_agent", "caf_admin")
# The everyday role of each kind of organisation, pre-selected when an account is created.
EVERYDAY_ROLE = {OrganisationKind.BAILLEUR.value: "bailleur_operator",
                 "conseil_departemental": "travailleur_social"}


def roles_for(org: Organisation) -> list[str]:
    """Roles a user of `org` may hold, least privileged first."""
    if org.is_caf:
        roles = set(CAF_ROLES)
    else:
        roles = set(PARTNER_ROLES)
        if org.kind != OrganisationKind.BAILLEUR.value:
            roles.discard("bailleur_operator")
    return sorted(roles, key=ROLE_ORDER.index)


def least_privileged_role(org: Organisation) -> str:
    """The role pre-selected for a new account of `org`: its everyday role, never an admin one."""
    roles = roles_for(org)
    everyday = EVERYDAY_ROLE.get(org.kind)
    return everyday if everyday in roles else roles[0]


# --- Users -----------------------------------------------------------------------------------

def create_user(org: Organisation, *, actor: User, email: str, prenom: str, nom: str, role: str) -> User:
    """Create a user without a password and email them a one-time activation link."""
    from ..accounts.services import issue_reset_token, reset_link
    from ..mail import send_email
    email = email.strip().lower()
    if role not in roles_for(org):
        raise AdminError("Ce rôle n'est pas possible pour cette organisation.", "role")
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise AdminError("Un compte existe déjà avec cette adresse électronique.", "email")
    user = User(organisation=org, email=email, prenom=prenom.strip(), nom=nom.strip(), role=role,
                password_hash=None)
    db.session.add(user)
    db.session.flush()
    hours = current_app.config["ACCOUNT_ACTIVATION_HOURS"]
    raw = issue_reset_token(user, minutes=hours * 60)
    send_email(user.email, "Extranet Partenaires — activation de votre compte",
               f"Bonjour {user.prenom},\n\n{actor.full_name} vous a ouvert un compte sur l'Extranet "
               f"Partenaires de la Caf pour {org.nom}.\nChoisissez votre mot de passe avec ce lien, "
               f"valable {hours} heures et à usage unique :\n\n{reset_link(raw)}\n\n"
               "— Extranet Partenaires de la Caf\n")
    record_event("admin", "user_created", actor=actor, organisation_id=org.id,
                 target=f"user:{user.id}", role=role)
    db.session.flush()
    return user


def disable_user(user: User, *, actor: User) -> None:
    if user.id == actor.id:
        raise AdminError("Vous ne pouvez pas désactiver votre propre compte.")
    if user.disabled_at is None:
        user.disabled_at = utcnow()
        sessions.revoke_all_sessions(user.id)
        record_event("admin", "user_disabled", actor=actor, organisation_id=user.organisation_id,
                     target=f"user:{user.id}")
    db.session.flush()


def enable_user(user: User, *, actor: User) -> None:
    if user.disabled_at is not None:
        user.disabled_at = None
        user.failed_logins = 0
        user.locked_until = None
        record_event("admin", "user_enabled", actor=actor, organisation_id=user.organisation_id,
                     target=f"user:{user.id}")
    db.session.flush()


# --- Habilitations ---------------------------------------------------------------------------

def grantable(org: Organisation) -> dict[str, list[str]]:
    """Services the organisation's active contracts allow, each with the profiles its contract
    lists (empty for a service without profiles)."""
    out = {}
    for service in registry.current().services.values():
        contrat = org.active_contrat(service.code)
        if contrat is not None:
            out[service.code] = list(contrat.profils or []) if service.profils else []
    return out


def suspension_in_force(user: User, service: str, now: datetime | None = None) -> datetime | None:
    """End of a suspension in force on one of the user's habilitations for `service`, revoked
    ones included (revoking a habilitation does not lift its suspension), else None."""
    now = now or utcnow()
    ends = [h.suspended_until for h in user.habilitations if h.service == service and h.is_suspended(now)]
    return max(ends) if ends else None


def grant_habilitation(user: User, *, actor: User, service: str, profil: str | None) -> Habilitation:
    allowed = grantable(user.organisation)
    if service not in allowed:
        raise AdminError("Votre organisation n'a pas de contrat actif pour ce service.", "service")
    if registry.current().profils(service):
        if not profil or profil not in allowed[service]:
            raise AdminError(f"Choisissez un profil {service} prévu par le contrat de l'organisation.",
                             "profil")
    else:
        profil = None
    if user.disabled_at is not None:
        raise AdminError("Ce compte est désactivé.")
    until = suspension_in_force(user, service)
    if until is not None:
        # Revoking the suspended habilitation then granting a new one must not undo a
        # suspension decided by the Caf (or by its atypical-use rules).
        end = "jusqu'à nouvel ordre" if until >= INDEFINITE else f"jusqu'au {date_heure(until, fuseau=True)}"
        record_event("habilitation", "habilitation_grant_refused", actor=actor,
                     organisation_id=user.organisation_id, target=f"user:{user.id}", service=service,
                     profil=profil, reason="suspension_en_cours",
                     suspended_until=until.isoformat(timespec="minutes"))
        # Exception: the refused attempt stays in the audit trail although the grant fails.
        db.session.commit()
        raise AdminError(f"L'habilitation {service} de cet utilisateur est suspendue par la Caf {end} : "
                         "aucune nouvelle habilitation ne peut lui être accordée pour ce service avant "
                         "la fin de la suspension. Seule la Caf peut la lever.", "service")
    if any(h.service == service and h.revoked_at is None for h in user.habilitations):
        raise AdminError("Cet utilisateur a déjà une habilitation pour ce service : retirez-la "
                         "d'abord pour en changer.", "service")
    hab = Habilitation(user=user, service=service, profil=profil, granted_at=utcnow(),
                       granted_by_id=actor.id)
    db.session.add(hab)
    db.session.flush()
    record_event("habilitation", "habilitation_granted", actor=actor,
                 organisation_id=user.organisation_id, target=f"user:{user.id}",
                 habilitation_id=hab.id, service=service, profil=profil)
    db.session.flush()
    return hab


def revoke_habilitation(hab: Habilitation, *, actor: User) -> None:
    """Revoke; a suspension in force stays on the revoked habilitation (suspended_until is kept)
    and keeps any new habilitation for the service from being granted until it ends."""
    if hab.revoked_at is None:
        hab.revoked_at = utcnow()
        sessions.revoke_all_sessions(hab.user_id)
        suspended = hab.suspended_until is not None and hab.suspended_until > hab.revoked_at
        record_event("habilitation", "habilitation_revoked", actor=actor,
                     organisation_id=hab.user.organisation_id, target=f"user:{hab.user_id}",
                     habilitation_id=hab.id, service=hab.service,
                     suspended_until=hab.suspended_until.isoformat(timespec="minutes") if suspended else None)
    db.session.flush()


def review_habilitation(hab: Habilitation, *, actor: User) -> None:
    """The admin confirms the habilitation is still needed: the 12-month clock restarts."""
    if hab.revoked_at is not None:
        raise AdminError("Cette habilitation est retirée.")
    hab.reviewed_at = utcnow()
    record_event("habilitation", "habilitation_reviewed", actor=actor,
                 organisation_id=hab.user.organisation_id, target=f"user:{hab.user_id}",
                 habilitation_id=hab.id, service=hab.service)
    db.session.flush()


def suspend_habilitation(hab: Habilitation, *, actor: User, motif: str, until: datetime | None) -> None:
    motif = (motif or "").strip()
    if not motif:
        raise AdminError("Indiquez le motif de la suspension.", "motif")
    if until is not None and until <= utcnow():
        raise AdminError("La date de fin doit être dans le futur.", "until")
    hab.suspended_until = until or INDEFINITE
    hab.suspension_motif = motif
    sessions.revoke_all_sessions(hab.user_id)
    record_event("habilitation", "habilitation_suspended", actor=actor,
                 organisation_id=hab.user.organisation_id, target=f"user:{hab.user_id}",
                 habilitation_id=hab.id, service=hab.service, motif=motif,
                 until=until.isoformat() if until else None)
    db.session.flush()


def lift_habilitation_suspension(hab: Habilitation, *, actor: User) -> None:
    if hab.suspended_until is not None:
        hab.suspended_until = None
        record_event("habilitation", "habilitation_suspension_lifted", actor=actor,
                     organisation_id=hab.user.organisation_id, target=f"user:{hab.user_id}",
                     habilitation_id=hab.id, service=hab.service)
    db.session.flush()


# --- API tokens ------------------------------------------------------------------------------

def create_api_token(org: Organisation, *, actor: User, nom: str, scopes: list[str],
                     profil: str | None, days: int) -> tuple[ApiToken, str]:
    """Returns the token and its raw value, which is shown once and never stored."""
    from ..api import TOKEN_PREFIX, hash_token
    nom = (nom or "").strip()
    if not nom:
        raise AdminError("Donnez un nom au jeton (le logiciel qui l'utilise).", "nom")
    allowed = grantable(org)
    scopes = sorted(set(scopes or []))
    if not scopes:
        raise AdminError("Choisissez au moins un service.", "scopes")
    outside = [s for s in scopes if s not in allowed]
    if outside:
        raise AdminError(f"Votre organisation n'a pas de contrat actif pour : {', '.join(outside)}.",
                         "scopes")
    contributions = registry.current()
    profiled = [s for s in scopes if contributions.profils(s)]
    if len(profiled) > 1:
        raise AdminError("Un jeton ne porte qu'un profil : créez un jeton pour chacun de ces services "
                         f"({', '.join(profiled)}).", "scopes")
    if profiled:
        if not profil or profil not in allowed[profiled[0]]:
            raise AdminError(f"Un jeton {profiled[0]} demande un profil prévu par le contrat.", "profil")
    else:
        profil = None
    for scope in scopes:
        check = contributions.service(scope).token_check
        reason = check(org) if check else None
        if reason:
            record_event("token", "api_token_refused", actor=actor, organisation_id=org.id,
                         scope=scope, motif=reason)
            # Exception: the refused attempt stays in the audit trail although no token is made.
            db.session.commit()
            raise AdminError(reason, "scopes")
    max_days = current_app.config["API_TOKEN_MAX_DAYS"]
    if not 1 <= days <= max_days:
        raise AdminError(f"La durée de validité va de 1 à {max_days} jours.", "days")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(organisation=org, created_by=actor, nom=nom[:100], prefix=raw[:10],
                     token_hash=hash_token(raw), scopes=scopes, profil=profil,
                     created_at=now, expires_at=now + timedelta(days=days))
    db.session.add(token)
    db.session.flush()
    record_event("token", "api_token_created", actor=actor, organisation_id=org.id,
                 target=f"api_token:{token.id}", prefix=token.prefix, scopes=scopes,
                 profil=profil, expires_at=token.expires_at.isoformat())
    db.session.flush()
    return token, raw


def revoke_api_token(token: ApiToken, *, actor: User) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record_event("token", "api_token_revoked", actor=actor, organisation_id=token.organisation_id,
                     target=f"api_token:{token.id}", prefix=token.prefix)
    db.session.flush()


# --- Organisations, contracts, suspensions (Caf admin) ---------------------------------------

ORG_FIELDS = ("nom", "kind", "siret", "code_bailleur", "territoire", "convention_ref",
              "convention_signee_le")


def _check_org_fields(values: dict, org: Organisation | None) -> dict:
    org_id = org.id if org else None
    values = {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}
    for key in ("siret", "code_bailleur", "convention_ref"):
        values[key] = values.get(key) or None
    if values["kind"] not in {k.value for k in OrganisationKind}:
        raise AdminError("Type d'organisation inconnu.", "kind")
    siret = values["siret"]
    if siret is not None:
        if not (siret.isdigit() and len(siret) == 14):
            raise AdminError("Le SIRET compte 14 chiffres.", "siret")
        if siret != (org.siret if org else None) and not _luhn_ok(siret):
            raise AdminError("Ce SIRET n'est pas valide (clé de contrôle).", "siret")
    if values["kind"] == OrganisationKind.BAILLEUR.value and not values["code_bailleur"]:
        raise AdminError("Un bailleur a un code bailleur.", "code_bailleur")
    for key, label in (("siret", "SIRET"), ("code_bailleur", "code bailleur")):
        if values[key]:
            clash = db.session.scalar(select(Organisation.id).where(
                getattr(Organisation, key) == values[key], Organisation.id != (org_id or 0)))
            if clash is not None:
                raise AdminError(f"Une autre organisation a déjà ce {label}.", key)
    return values


def _luhn_ok(number: str) -> bool:
    """SIRET check digit (Luhn). La Poste's establishments use another rule and are accepted."""
    if number.startswith("356000000"):
        return sum(int(c) for c in number) % 5 == 0
    total = 0
    for i, char in enumerate(reversed(number)):
        digit = int(char) * (2 if i % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


def save_organisation(org: Organisation | None, *, actor: User, **values) -> Organisation:
    values = _check_org_fields(values, org)
    creating = org is None
    if creating:
        org = Organisation()
        db.session.add(org)
    changed = [k for k in ORG_FIELDS if getattr(org, k, None) != values.get(k)]
    for key in ORG_FIELDS:
        setattr(org, key, values.get(key))
    db.session.flush()
    record_event("admin", "organisation_created" if creating else "organisation_updated",
                 actor=actor, organisation_id=org.id, target=f"organisation:{org.id}",
                 fields=changed)
    db.session.flush()
    return org


def _check_profils(service: str, profils: list[str]) -> list[str]:
    """The contract's profiles: at least one, all the service's; none for a service without."""
    known = registry.current().profils(service)
    profils = sorted(set(profils or []))
    if not known:
        return []
    unknown = [p for p in profils if p not in known]
    if unknown or not profils:
        raise AdminError(f"Un contrat {service} liste au moins un profil connu.", "profils")
    return profils


def add_contrat(org: Organisation, *, actor: User, service: str, profils: list[str],
                debut: datetime, fin: datetime | None) -> Contrat:
    if registry.current().service(service) is None:
        raise AdminError("Service inconnu.", "service")
    if fin is not None and fin <= debut:
        raise AdminError("La fin du contrat doit suivre son début.", "fin")
    if org.active_contrat(service) is not None:
        raise AdminError("L'organisation a déjà un contrat actif pour ce service : modifiez-le.",
                         "service")
    contrat = Contrat(organisation=org, service=service,
                      profils=_check_profils(service, profils), debut=debut, fin=fin)
    db.session.add(contrat)
    db.session.flush()
    record_event("admin", "contrat_created", actor=actor, organisation_id=org.id,
                 target=f"contrat:{contrat.id}", service=service, profils=contrat.profils)
    db.session.flush()
    return contrat


def update_contrat(contrat: Contrat, *, actor: User, profils: list[str], fin: datetime | None) -> None:
    if fin is not None and fin <= contrat.debut:
        raise AdminError("La fin du contrat doit suivre son début.", "fin")
    contrat.profils = _check_profils(contrat.service, profils)
    contrat.fin = fin
    record_event("admin", "contrat_updated", actor=actor, organisation_id=contrat.organisation_id,
                 target=f"contrat:{contrat.id}", service=contrat.service,
                 profils=contrat.profils, fin=fin.isoformat() if fin else None)
    db.session.flush()


def suspend_organisation(org: Organisation, *, actor: User, motif: str) -> None:
    motif = (motif or "").strip()
    if not motif:
        raise AdminError("Indiquez le motif de la suspension.", "motif")
    if org.id == actor.organisation_id:
        raise AdminError("Vous ne pouvez pas suspendre votre propre organisation.")
    org.suspended_at = utcnow()
    org.suspension_motif = motif
    for user in org.users:
        sessions.revoke_all_sessions(user.id)
    record_event("admin", "organisation_suspended", actor=actor, organisation_id=org.id,
                 target=f"organisation:{org.id}", motif=motif)
    db.session.flush()


def lift_organisation_suspension(org: Organisation, *, actor: User) -> None:
    if org.suspended_at is not None:
        org.suspended_at = None
        record_event("admin", "organisation_suspension_lifted", actor=actor, organisation_id=org.id,
                     target=f"organisation:{org.id}", previous_motif=org.suspension_motif)
        org.suspension_motif = None
    db.session.flush()


# --- Audit trail -----------------------------------------------------------------------------

# Verifying the whole chain can outlast a web request (gunicorn's 30 s): the audit trail page
# starts a background job, which records its outcome as an audit event.
VERIFY_CHAIN_JOB = "portal.verify_audit_chain"


def verification_in_progress():
    """The pending or running chain verification job, or None (reads only)."""
    return db.session.scalars(
        select(jobs.Job).where(jobs.Job.kind == VERIFY_CHAIN_JOB,
                               jobs.Job.status.in_((jobs.PENDING, jobs.RUNNING)))
        .order_by(jobs.Job.id).limit(1)
    ).first()


def start_audit_chain_verification(*, actor: User):
    """Queue a verification of the whole chain on behalf of a Caf admin; returns the job, or None
    when one is already pending or running (no pile-up). The job's outcome is the audit event;
    queuing it writes nothing else."""
    if verification_in_progress() is not None:
        return None
    job = jobs.create_job(VERIFY_CHAIN_JOB, {"actor_user_id": actor.id})
    # Exception: queuing the job is the whole action, and its message leaves only after the
    # outermost commit (portal.jobs.create_job): commit here so it is sent now, whoever calls.
    db.session.commit()
    return job


def verify_audit_chain(*, actor: User | None):
    """Verify the whole audit chain (explicit action of a Caf admin, run by the job above) and
    record the outcome as an audit event, which the audit trail page shows as the latest
    verification. The event is written in the caller's transaction: the job commits it together
    with its DONE mark, so no reader ever sees the outcome while the job still looks running,
    and an attempt that lost its lease records nothing."""
    report = audit.verify()
    record_event(audit.VERIFICATION_CATEGORY, audit.VERIFICATION_ACTION, actor=actor,
                 ok=report.ok, checked=report.checked, first_broken_seq=report.first_broken_seq,
                 first_broken_id=report.first_broken_id, reason=report.reason or None)
    return report
