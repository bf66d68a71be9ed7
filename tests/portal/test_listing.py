"""Lists (portal.listing + _listing.html): search, sort, exact counts, numbered pages, no cap;
bad parameters answer 400 or fall back, never 500. Shown on the partner admin's users list."""
import re

import pytest

from portal.listing import ListArgs, Page, like_pattern

USERS = "/administration/utilisateurs"


def page_of(total, page, per_page=25):
    return Page(items=[], total=total, page=page, per_page=per_page,
                args=ListArgs(q="", sort="x", direction="asc", page=page))


def test_page_numbers_show_the_ends_and_the_neighbours():
    assert page_of(0, 1).pages == 1 and page_of(0, 1).numbers() == [1]
    assert page_of(75, 2).numbers() == [1, 2, 3]
    assert page_of(1000, 20).numbers() == [1, None, 18, 19, 20, 21, 22, None, 40]
    assert page_of(1000, 1).numbers() == [1, 2, 3, None, 40]
    assert page_of(1000, 4).numbers() == [1, 2, 3, 4, 5, 6, None, 40]
    p = page_of(60, 3)
    assert (p.first_index, p.last_index) == (51, 60)


def test_like_pattern_takes_wildcards_literally():
    assert like_pattern("50%_a\\b") == "%50\\%\\_a\\\\b%"


@pytest.fixture
def crowded(factory, client):
    org = factory.organisation("bailleur", services={"EDI": []})
    admin = factory.user(org, role="partner_admin", nom="Aaadmin")
    for n in range(59):
        factory.user(org, role="bailleur_operator", nom=f"Membre{n:02d}", email=f"membre{n:02d}@exemple.test")
    factory.user(org, role="bailleur_operator", nom="Zébulon", prenom="Léa", email="lea.z@exemple.test")
    factory.sign_in(client, admin)
    return org


def names(html):
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'/utilisateurs/\d+">([^<]+)<', body)


def test_users_list_pages_with_numbers_and_exact_count(client, crowded):
    html = client.get(USERS).get_data(as_text=True)
    assert 'data-total="61"' in html and "1 à 25, page 1 sur 3" in html
    shown = names(html)
    assert len(shown) == 25 and shown[0] == "Camille Aaadmin"
    # Numbered DSFR pagination: pages 2 and 3 are links, page 1 is the current one.
    assert 'aria-current="page" title="Page 1">1<' in html
    assert f'href="{USERS}?page=3" title="Page 3"' in html
    last = client.get(f"{USERS}?page=3").get_data(as_text=True)
    assert names(last)[-1] == "Léa Zébulon" and len(names(last)) == 11
    # Past the end: the last page, not an empty one nor an error.
    assert names(client.get(f"{USERS}?page=99").get_data(as_text=True)) == names(last)


def test_users_list_search_and_sort(client, crowded):
    found = client.get(f"{USERS}?q=zébulon").get_data(as_text=True)
    assert names(found) == ["Léa Zébulon"] and 'data-total="1"' in found and "pour « zébulon »" in found
    assert names(client.get(f"{USERS}?q=LEA.Z%40exemple").get_data(as_text=True)) == ["Léa Zébulon"]
    # Words are all required; % and _ are letters, not wildcards.
    assert names(client.get(f"{USERS}?q=Léa+Membre").get_data(as_text=True)) == []
    assert names(client.get(f"{USERS}?q=%25").get_data(as_text=True)) == []
    desc = client.get(f"{USERS}?tri=nom&sens=desc").get_data(as_text=True)
    assert names(desc)[0] == "Léa Zébulon"
    assert 'aria-sort="descending"' in desc
    # The header links toggle the direction and keep the search.
    searched = client.get(f"{USERS}?q=membre&tri=nom&sens=asc").get_data(as_text=True)
    assert re.search(r'href="[^"]*q=membre[^"]*sens=desc[^"]*" data-testid="tri-nom"', searched)


def test_users_list_bad_parameters_are_a_400_or_the_default(client, crowded):
    assert client.get(f"{USERS}?page=abc").status_code == 400
    assert client.get(f"{USERS}?page=0").status_code == 400
    assert client.get(f"{USERS}?page=99999999999").status_code == 400
    odd = client.get(f"{USERS}?tri=password_hash&sens=sideways&q=" + "x" * 500)
    assert odd.status_code == 200
