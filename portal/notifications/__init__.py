"""Notifications: what concerns a person, in the portal (the bell, the list) and by email.

The shell owns the tables, the preferences and the sending; the domains declare their kinds
(``portal.registry.NotificationKind``) and publish through :func:`publish`, in the transaction
of the state change they tell about. Each user picks a channel per kind: an email at once, a
daily digest (sent by the beat, ``portal.notification_digests``) or the portal only.
"""
from .models import Notification, NotificationPreference
from .recipients import caf_staff, organisation_users
from .services import CHANNELS, channel_for, path_for, publish

__all__ = ["CHANNELS", "Notification", "NotificationPreference", "caf_staff", "channel_for",
           "organisation_users", "path_for", "publish"]
