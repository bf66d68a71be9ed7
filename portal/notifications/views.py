"""The notification pages: the list (open, mark read, all read) and the preferences page."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from ..access import ALL_ROLES_ANY, requires
from ..extensions import db
from ..formatting import date_heure
from ..inputs import int_arg
from . import services
from .models import Notification

bp = Blueprint("notifications", __name__, url_prefix="/notifications", template_folder="templates")
PAGE_SIZE = 30


@bp.get("")
@requires(ALL_ROLES_ANY)
def index():
    page = int_arg("page", 1, maximum=100_000)
    mine = Notification.user_id == current_user.id
    total = db.session.scalar(select(func.count()).select_from(Notification).where(mine)) or 0
    notes = db.session.scalars(select(Notification).where(mine).order_by(
        Notification.created_at.desc(), Notification.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    pages = max(1, -(-total // PAGE_SIZE))
    return render_template("notifications/index.html", notes=notes, page=page, pages=pages, total=total,
                           unread=services.unread_count(current_user), kinds=_kind_labels(),
                           when=date_heure)


def _kind_labels() -> dict[str, str]:
    from .. import registry
    return {code: k.label for code, k in registry.current().notification_kinds.items()}


@bp.post("/<int:nid>/ouvrir")
@requires(ALL_ROLES_ANY)
def open_(nid):
    note = services.mark_read(current_user, nid)
    if note is None:
        abort(404)
    db.session.commit()
    return redirect(note.url or url_for("notifications.index"))


@bp.post("/<int:nid>/lue")
@requires(ALL_ROLES_ANY)
def read(nid):
    if services.mark_read(current_user, nid) is None:
        abort(404)
    db.session.commit()
    flash("Notification marquée comme lue.", "success")
    return redirect(url_for("notifications.index"))


@bp.post("/tout-lu")
@requires(ALL_ROLES_ANY)
def read_all():
    count = services.mark_all_read(current_user)
    db.session.commit()
    flash(f"{count} notification{'s' if count > 1 else ''} marquée{'s' if count > 1 else ''} comme lue{'s' if count > 1 else ''}."
          if count else "Aucune notification non lue.", "success")
    return redirect(url_for("notifications.index"))


@bp.route("/preferences", methods=["GET", "POST"])
@requires(ALL_ROLES_ANY)
def preferences():
    kinds = services.kinds_for(current_user)
    errors = {}
    if request.method == "POST":
        choices = {k.code: request.form.get(f"canal-{k.code}", "") for k in kinds}
        errors = {code: "Choisissez l'une des trois façons d'être prévenu."
                  for code, channel in choices.items() if channel not in services.CHANNELS}
        if not errors:
            changes = services.set_preferences(current_user, choices)
            db.session.commit()
            flash("Préférences enregistrées." if changes else "Aucun changement.", "success")
            return redirect(url_for("notifications.preferences"))
    current = {k.code: services.channel_for(current_user, k.code) for k in kinds}
    if errors:
        current.update({c: request.form.get(f"canal-{c}", "") for c in current})
    return render_template("notifications/preferences.html", kinds=kinds, current=current,
                           channels=services.CHANNELS, errors=errors), (422 if errors else 200)


def init_app(app) -> None:
    @app.context_processor
    def _bell():
        def unread_notifications():
            """The unread count for the header's bell (None: no bell, signed out or second
            factor still to give)."""
            if not current_user.is_authenticated or (current_user.mfa_required and not g.get("mfa_verified")):
                return None
            return services.bell_count(current_user)
        return {"unread_notifications": unread_notifications}
