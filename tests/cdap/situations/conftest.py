"""A case on the showcase's impayé (8000001, Picardie Habitat, Somme) and form helpers."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.extensions import db
from tests.support.factories import csrf_token


@pytest.fixture
def item(world):
    from datetime import date

    from cdap.models import Allocataire, ImpayeQueueItem
    found = db.session.scalar(select(ImpayeQueueItem).join(ImpayeQueueItem.allocataire)
                              .where(Allocataire.numero == "8000001"))
    found.impaye.date_signalement = date(2026, 11, 2)  # fixed: contacts are dated after it
    db.session.flush()
    return found


def act(client, item, verb, **fields):
    """POST one form of the case page, fields under the form's prefix, with its CSRF token."""
    data = {f"{verb}-{k}": v for k, v in fields.items()}
    data[f"{verb}-csrf_token"] = csrf_token(client, "/cdap/impayes")
    return client.post(f"/cdap/situations/{item.id}/{verb}", data=data)


def take(client, item):
    return client.post(f"/cdap/situations/{item.id}/prendre", data={"csrf_token": csrf_token(client, "/cdap/impayes")})


def text(response) -> str:
    """The page as a person reads it (entities unescaped)."""
    import html
    return html.unescape(response.get_data(as_text=True))
