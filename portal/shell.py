"""What the shell itself brings, declared like a domain's (``portal.registry.Domain``): its
pages and navigation, the administrators' home panel and demo step, the Caf's dashboard, the
labels of its audit categories and its migrations."""
from __future__ import annotations

from pathlib import Path

from .registry import Domain, Nav

AUDIT_CATEGORIES = {
    "auth": "Connexion",
    "mfa": "Double authentification",
    "habilitation": "Habilitations",
    "token": "Jetons d'API",
    "admin": "Administration",
    "audit": "Piste d'audit",
}

# The audit trail's actions, in words (the filter of the audit page lists them by these).
AUDIT_ACTIONS = {
    "login": "Connexion réussie", "login_failed": "Échec de connexion", "logout": "Déconnexion",
    "login_refused_locked": "Connexion refusée (compte verrouillé)", "account_locked": "Compte verrouillé",
    "password_changed": "Mot de passe changé", "password_change_failed": "Échec du changement de mot de passe",
    "password_reset_requested": "Réinitialisation du mot de passe demandée",
    "password_reset_done": "Mot de passe réinitialisé",
    "password_reset_unknown": "Réinitialisation demandée pour une adresse inconnue",
    "mfa_enrol_started": "Enrôlement de la double authentification commencé",
    "mfa_enrolled": "Double authentification activée", "mfa_enrol_failed": "Échec de l'enrôlement de la double authentification",
    "mfa_success": "Code de double authentification accepté", "mfa_failed": "Code de double authentification refusé",
    "habilitation_granted": "Habilitation accordée", "habilitation_grant_refused": "Habilitation refusée",
    "habilitation_reviewed": "Habilitation revue", "habilitation_revoked": "Habilitation retirée",
    "habilitation_suspended": "Habilitation suspendue", "habilitation_suspension_lifted": "Suspension d'habilitation levée",
    "api_token_created": "Jeton d'API créé", "api_token_revoked": "Jeton d'API révoqué",
    "api_token_refused": "Jeton d'API refusé",
    "organisation_created": "Organisation créée", "organisation_suspended": "Organisation suspendue",
    "organisation_suspension_lifted": "Suspension d'organisation levée",
    "contrat_created": "Contrat créé", "contrat_updated": "Contrat modifié",
    "user_created": "Utilisateur créé", "user_disabled": "Utilisateur désactivé", "user_enabled": "Utilisateur réactivé",
    "chain_verified": "Chaîne d'audit vérifiée",
}


def domain() -> Domain:
    from . import dashboards
    from .accounts.views import bp as accounts_bp
    from .admin import caf, panels, partner, tasks  # noqa: F401  (tasks: the admin jobs' handlers)
    from .home import bp as home_bp
    return Domain(
        name="portal",
        migrations=Path(__file__).parent / "migrations" / "versions",
        blueprints=[accounts_bp, home_bp, partner.bp, caf.bp, dashboards.bp],
        nav=[Nav("Accueil", "home.index", 0),
             Nav("Utilisateurs", "partner_admin.users", 80),
             Nav("Jetons d'API", "partner_admin.tokens", 81),
             Nav("Organisations", "caf_admin.organisations", 85),
             Nav("Piste d'audit", "caf_admin.audit_trail", 86),
             Nav("Mon compte", "accounts.account", 95)],
        home_panels=[panels.home_panel],
        boards=[dashboards.CAF_BOARD],
        seed=[panels.seed_demo],
        labels={"audit_categories": AUDIT_CATEGORIES, "audit_actions": AUDIT_ACTIONS},
    )
