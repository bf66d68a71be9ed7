"""What CDAP tells people (``portal.notifications``): an atypical-use alert, to the Caf admins
(who review alerts and lift suspensions)."""
from __future__ import annotations

from portal import notifications
from portal.extensions import db
from portal.models import Organisation, User
from portal.formatting import accord, date_heure
from portal.registry import NotificationKind

USAGE_ATYPIQUE = "cdap_usage_atypique"

KINDS = [NotificationKind(USAGE_ATYPIQUE, "Alerte d'usage atypique du CDAP", "immediat",
                          lambda user: user.role == "caf_admin", 20)]
LEVELS = {"alerte": "alerte", "suspension": "suspension"}


def atypical_use(alert, kind_label: str) -> None:
    user = db.session.get(User, alert.user_id) if alert.user_id else None
    organisation = db.session.get(Organisation, alert.organisation_id) if alert.organisation_id else None
    who = user.full_name if user else f"le jeton d'API n° {alert.api_token_id}"
    where = f" ({organisation.nom})" if organisation else ""
    what = "L'habilitation CDAP est suspendue" if alert.user_id else "L'accès CDAP de ce jeton d'API est suspendu"
    action = (f"{what} jusqu'au {date_heure(alert.suspended_until, fuseau=True)}."
              if alert.suspended_until else "Aucune suspension à ce stade.")
    notifications.publish(
        USAGE_ATYPIQUE, notifications.caf_staff(roles={"caf_admin"}),
        url=notifications.path_for("cdap.alerts"),
        title=f"CDAP : usage atypique ({kind_label.lower()}, {LEVELS.get(alert.level, alert.level)})",
        body=(f"Usage atypique détecté pour {who}{where} : {kind_label.lower()}, "
              f"{accord(alert.count, 'tentative')} pour un seuil de {alert.threshold}.\n{action}"))
