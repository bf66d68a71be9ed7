"""Home-page panel: new items of the impayé queue for the social workers of the territory."""
from sqlalchemy import func, select

from portal.access import user_may_open
from portal.extensions import db

from .models import Allocataire, ImpayeQueueItem
from .policy import QUEUE_PROFILES
from .services import in_territory


def panel(user):
    hab = user.habilitation("CDAP")
    if hab is None or hab.profil not in QUEUE_PROFILES:
        return None
    if not user_may_open(user, "cdap.queue"):  # the panel's only link (a Caf admin may not)
        return None
    query = select(func.count()).select_from(ImpayeQueueItem).where(ImpayeQueueItem.statut == "nouveau")
    if hab.profil != "agent_caf":
        query = (query.join(Allocataire, Allocataire.id == ImpayeQueueItem.allocataire_id)
                 .where(in_territory(user.organisation.territoire)))
    return "cdap/home_panel.html", {"cdap_new_impayes": db.session.scalar(query)}
