"""The menu (portal.layout) is cached per process by what decides it (role, usable services,
the entries' `shown_to` answers): a change of habilitation shows at the next page, and two
users of the same role with different habilitations never share a menu."""
from datetime import timedelta

from portal.extensions import db
from portal.models import utcnow
from tests.support.factories import sign_in


def _menu(client) -> str:
    html = client.get("/accueil").get_data(as_text=True)
    return html[html.index('id="navigation"'):html.index("</nav>", html.index('id="navigation"'))]


def test_menu_follows_habilitations_and_is_not_shared(app, client, factory):
    org = factory.organisation("collectivite", services={"AFAS": []})
    with_afas = factory.user(org, "partner_manager", habilitations={"AFAS": None})
    without = factory.user(org, "partner_manager", habilitations={})
    sign_in(client, with_afas)
    assert "Déclarations AFAS" in _menu(client)
    other = app.test_client()
    sign_in(other, without)
    assert "Déclarations AFAS" not in _menu(other)
    assert "Déclarations AFAS" in _menu(client)  # the first user's menu is not the second's
    (hab,) = with_afas.habilitations
    hab.suspended_until = utcnow() + timedelta(days=1)
    db.session.commit()
    assert "Déclarations AFAS" not in _menu(client)  # suspended: gone at the next page
    hab.suspended_until = None
    db.session.commit()
    assert "Déclarations AFAS" in _menu(client)
