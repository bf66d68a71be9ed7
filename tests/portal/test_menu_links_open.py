"""Every entry of the main menu, and every link of the home page, opens for the person it is
shown to: role by role, with no habilitation, each service's alone, and all of them. A link that
answers 403 is a page that should not have been offered (the quotient-familial manager was shown
« Paiements AFAS » in the menu, a Caf admin « File des impayés » on the home page)."""
import re

import pytest

from portal import registry
from tests.support.factories import csrf_token, sign_in

CDAP_PROFILE = {"caf_agent": "agent_caf", "caf_admin": "agent_caf", "bailleur_operator": "bailleur",
                "travailleur_social": "travailleur_social", "partner_manager": "quotient_familial",
                "partner_admin": "quotient_familial"}
ORG_KIND = {"caf_agent": "caf", "caf_admin": "caf", "bailleur_operator": "bailleur",
            "travailleur_social": "departement"}


def _menu(html: str) -> list[str]:
    nav = html.split('id="navigation"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'class="fr-nav__link" href="([^"]+)"', nav)


def _home_links(html: str) -> list[str]:
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    return [url.replace("&amp;", "&") for url in re.findall(r'href="(/[^"#]*)', main)]


@pytest.mark.parametrize("role", sorted(CDAP_PROFILE))
def test_every_menu_entry_and_home_link_opens_for_whom_it_is_shown(client, factory, app, role):
    services = list(registry.of(app).services)
    profile = CDAP_PROFILE[role]
    org = factory.organisation(kind=ORG_KIND.get(role, "commune"),
                               services={code: [profile] if code == "CDAP" else [] for code in services})
    combos = [{}] + [{code: profile if code == "CDAP" else None} for code in services]
    combos.append({code: profile if code == "CDAP" else None for code in services})
    opened = 0
    for habilitations in combos:
        user = factory.user(org=org, role=role, habilitations=habilitations)
        sign_in(client, user)
        home = client.get("/accueil").get_data(as_text=True)
        for url in sorted(set(_menu(home) + _home_links(home))):
            status = client.get(url).status_code
            assert status < 400, f"{role} {habilitations}: {url} answers {status}"
            opened += 1
        client.post("/deconnexion", data={"csrf_token": csrf_token(client, "/accueil")})
    assert opened > len(combos)  # the menus were read
