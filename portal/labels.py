"""The shell's label tables: what people read instead of codes in the audit trail.

Each domain has its own table module (afas/labels.py, cdap/labels.py, edi/labels.py) declared in
its ``Domain(labels=...)``; the registry merges them by table name:

- ``audit_categories``: category code -> label;
- ``audit_actions``: action code -> « what happened », a short French sentence fragment;
- ``audit_details``: key of an entry's details -> label;
- ``audit_units``: key of a detail -> ``euros`` when its value is an amount;
- ``audit_targets``: kind of an entry's target (``declaration`` in ``declaration:12``) -> label;
- ``valeurs``: a code that can appear as a detail's value (status, profile, service…) -> label.

``audit_details(details)`` turns an entry's details into (label, text) pairs: keys through
``audit_details``, values through ``valeurs``, ``None`` as « — », booleans as « oui » / « non »,
lists joined with commas. A code no table knows is shown as is — the page walk test
(tests/portal/test_visible_words.py) finds it, and its label goes into the right table.
"""
from __future__ import annotations

from datetime import date, datetime

from . import formatting

AUDIT_CATEGORIES = {
    "auth": "Connexion",
    "mfa": "Double authentification",
    "habilitation": "Habilitations",
    "token": "Jetons d'API",
    "admin": "Administration",
    "audit": "Piste d'audit",
}

AUDIT_ACTIONS = {
    # connexion
    "login": "Connexion",
    "login_failed": "Échec de connexion",
    "login_refused_locked": "Connexion refusée (compte verrouillé)",
    "logout": "Déconnexion",
    "account_locked": "Compte verrouillé après des échecs répétés",
    "password_changed": "Mot de passe modifié",
    "password_change_failed": "Échec du changement de mot de passe",
    "password_reset_requested": "Réinitialisation du mot de passe demandée",
    "password_reset_unknown": "Réinitialisation demandée pour une adresse inconnue",
    "password_reset_done": "Mot de passe réinitialisé",
    # double authentification
    "mfa_enrol_started": "Enrôlement de la double authentification commencé",
    "mfa_enrol_failed": "Échec de l'enrôlement de la double authentification",
    "mfa_enrolled": "Double authentification activée",
    "mfa_failed": "Code de double authentification refusé",
    "mfa_success": "Code de double authentification accepté",
    "mfa_reset": "Double authentification réinitialisée",
    # habilitations
    "habilitation_granted": "Habilitation accordée",
    "habilitation_grant_refused": "Habilitation refusée",
    "habilitation_revoked": "Habilitation retirée",
    "habilitation_reviewed": "Habilitation revue",
    "habilitation_suspended": "Habilitation suspendue",
    "habilitation_suspension_lifted": "Suspension d'habilitation levée",
    # jetons
    "api_token_created": "Jeton d'API créé",
    "api_token_refused": "Création de jeton d'API refusée",
    "api_token_revoked": "Jeton d'API révoqué",
    # administration
    "organisation_created": "Organisation créée",
    "organisation_updated": "Organisation modifiée",
    "organisation_suspended": "Organisation suspendue",
    "organisation_suspension_lifted": "Suspension d'organisation levée",
    "contrat_created": "Contrat de service créé",
    "contrat_updated": "Contrat de service modifié",
    "user_created": "Utilisateur créé",
    "user_disabled": "Utilisateur désactivé",
    "user_enabled": "Utilisateur réactivé",
    # piste d'audit
    "chain_verified": "Intégrité de la chaîne vérifiée",
}

AUDIT_DETAILS = {
    "service": "Service",
    "profil": "Profil",
    "profils": "Profils",
    "role": "Rôle",
    "motif": "Motif",
    "previous_motif": "Motif précédent",
    "reason": "Raison",
    "statut": "Statut",
    "de": "De",
    "vers": "Vers",
    "until": "Jusqu'au",
    "suspended_until": "Suspendu jusqu'au",
    "jusqu_au": "Jusqu'au",
    "expires_at": "Expire le",
    "fin": "Fin",
    "scope": "Portée",
    "scopes": "Portées",
    "prefix": "Préfixe",
    "habilitation_id": "Habilitation n°",
    "fields": "Champs modifiés",
    "failures": "Échecs",
    "checked": "Entrées vérifiées",
    "ok": "Intègre",
    "first_broken_seq": "Première entrée en défaut",
    "first_broken_id": "Identifiant en défaut",
    "replacing": "Remplace",
    "replaced_previous": "Remplace le précédent",
    "renewed": "Renouvellement",
    "email": "Courriel",
    "nom": "Nom",
    "kind": "Type",
    "via": "Canal",
    "minutes": "Minutes",
    "fictif": "Fictif",
}

AUDIT_TARGETS = {
    "user": "Utilisateur n°",
    "organisation": "Organisation n°",
    "contrat": "Contrat n°",
    "api_token": "Jeton d'API n°",
    "ref": "Dossier (référence)",
}

VALEURS = {
    "suspension_en_cours": "suspension en cours",
    "caf_admin": "administrateur Caf",
    "caf_agent": "agent Caf",
    "partner_admin": "administrateur partenaire",
    "partner_manager": "gestionnaire",
    "bailleur_operator": "opérateur bailleur",
    "collectivite": "collectivité",
    "conseil_departemental": "conseil départemental",
    "association": "association",
    "caf": "Caf",
    "portail": "portail",
}


def audit_details(details, label) -> list[tuple[str, str]]:
    """(label, text) of each detail, in French; ``label(table, code)`` reads the registry."""
    return [(label("audit_details", key), _amount(value) if label("audit_units", key) == "euros"
             else value_text(value, label)) for key, value in (details or {}).items()]


def _amount(value) -> str:
    try:
        return formatting.euros(float(value))
    except (TypeError, ValueError):
        return str(value)


def audit_target(target: str | None, label) -> str:
    """« Déclaration n° 12 » for ``declaration:12`` (tables ``audit_targets``)."""
    if not target:
        return "—"
    kind, sep, ident = target.partition(":")
    if not sep:
        return target
    return f"{label('audit_targets', kind)} {ident}"


def value_text(value, label) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, (int, float)):
        return formatting.nombre(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(value_text(v, label) for v in value)
    if isinstance(value, dict):
        return " ; ".join(f"{label('audit_details', k)} : {value_text(v, label)}" for k, v in value.items())
    if isinstance(value, (date, datetime)):
        return formatting.date_heure(value) if isinstance(value, datetime) else formatting.date_longue(value)
    text = str(value)
    moment = _iso_moment(text)
    if moment is not None:
        return formatting.date_heure(moment) if isinstance(moment, datetime) else formatting.date_longue(moment)
    return label("valeurs", text)


def _iso_moment(text: str):
    """A date or naive-UTC timestamp written ISO (how details store them), or None."""
    if len(text) < 10 or not text[:4].isdigit() or text[4] != "-":
        return None
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.rstrip("Z")).replace(tzinfo=None)
    except ValueError:
        return None
