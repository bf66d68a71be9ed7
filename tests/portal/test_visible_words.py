"""Every page of every demo role speaks French to people: no raw code, no English word.

The demo data is loaded, each demo account signs in, and the test follows every link of the
signed-in area it can reach (breadth first, a few query-string variants per path). On each HTML
page it reads the visible text (not scripts, styles or attributes) and fails on:

- a ``snake_case`` token (``organisation_created``, ``travailleur_social``) or an
  ``UPPER_SNAKE`` one (``QUOTIENT_FAMILIAL``): a code instead of its label;
- an English word a person could meet by mistake (``None``, ``pending``, ``fields``…);
- a raw Python value: ``= [`` / ``= {`` (a list or dict printed as is).

Codes that people do need as a reference (EDI rule codes, shown after the sentence that
explains them) are in ``ALLOWED``; anything else found is a label to add to the domain's label
table (afas/labels.py, cdap/labels.py, edi/labels.py, portal/labels.py).
"""
from __future__ import annotations

import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

import pyotp
import pytest

SNAKE = re.compile(r"(?<![\w./-])(?:[a-z][a-z0-9]*(?:_[a-z0-9]+)+|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?![\w/-])")
ENGLISH = re.compile(r"\b(None|True|False|null|pending|running|done|failed|success|error|draft|"
                     r"submitted|validated|rejected|accepted|processing|processed|created|updated|"
                     r"revoked|fields|status|user|admin|the|and|with|from|Unknown|unknown|login|logout|token|password|"
                     r"enabled|disabled|granted|verified|locked|reset|found|not|yes|no|true|false)\b")
RAW_VALUE = re.compile(r"=\s*[\[{]")
# Codes shown on purpose, as a reference after the sentence that explains them: « (réf. CODE) ».
REFERENCE = re.compile(r"\bréf\. [A-Za-z0-9_]+")
ALLOWED = re.compile(r"^(?:[A-Z]{2,}_[0-9]{2,}|E_[A-Z0-9_]+)$")
# Not worth walking: downloads, the logout, every page of a long list.
SKIP = re.compile(r"^/(static|api)/|/(telecharger|export|accuse|pdf|csv|xml)|\.(pdf|csv|xml|json|png|ico)$")
MAX_VARIANTS = 2  # query-string variants of one path
MAX_PAGES = 400


class _Visible(HTMLParser):
    """The text a sighted person reads: text nodes outside script/style/template/head."""
    HIDDEN = {"script", "style", "template", "head", "noscript"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
            "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.chunks: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass

    def handle_data(self, data):
        if not any(t in self.HIDDEN for t in self.stack) and data.strip():
            self.chunks.append(data.strip())


EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def problems_in(text: str) -> list[str]:
    text = EMAIL.sub(" ", text)  # addresses are names, not words
    text = REFERENCE.sub(" ", text)  # a code shown as a reference, after its sentence
    found = [m.group(0) for m in SNAKE.finditer(text) if not ALLOWED.match(m.group(0))]
    found += [m.group(0) for m in ENGLISH.finditer(text)]
    found += [f"« {text[max(0, m.start() - 20):m.end()]} »" for m in RAW_VALUE.finditer(text)]
    return found


def test_the_checker_flags_codes_and_english_but_not_french():
    assert problems_in("Action : organisation_created") == ["organisation_created"]
    assert problems_in("CDAP (QUOTIENT_FAMILIAL)") == ["QUOTIENT_FAMILIAL"]
    assert problems_in("profil = None") == ["None"]
    assert problems_in("fields = ['nom']") == ["fields", "« fields = [ »"]
    assert problems_in("Déclaration transmise le 12 décembre 2025 à 14 h 32, heure de Paris") == []
    assert problems_in("Anomalie (LOY_012) : loyer négatif ; courriel nadia.moreau@picardie-habitat.example") == []
    assert problems_in("Allocataire inconnu (réf. ALLOCATAIRE_INCONNU)") == []
    assert problems_in("ALLOCATAIRE_INCONNU : allocataire inconnu") == ["ALLOCATAIRE_INCONNU"]


def _sign_in(client, email):
    from portal.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET
    from tests.support.factories import csrf_token
    response = client.post("/connexion", data={"email": email, "password": DEMO_PASSWORD,
                                               "csrf_token": csrf_token(client, "/connexion")})
    assert response.status_code == 302, email
    if "/connexion/code" in response.headers.get("Location", ""):
        response = client.post("/connexion/code", data={
            "code": pyotp.TOTP(DEMO_TOTP_SECRET).now(), "csrf_token": csrf_token(client, "/connexion/code")})
        assert response.status_code == 302, email


def _check(response) -> tuple[list[str], list[str]]:
    parser = _Visible()
    parser.feed(response.get_data(as_text=True))
    return sorted(set(problems_in("\n".join(parser.chunks)))), parser.links


def consult_showcase(client) -> dict[str, list[str]]:
    """The pages behind a form: the showcase file consulted with a motif (CDAP roles), and its
    consultations journal (Caf agent). {what: problems}."""
    from cdap.demo import SHOWCASE
    from tests.support.factories import csrf_token
    report = {}
    page = client.get("/cdap/consultation")
    if page.status_code == 200:
        motif = re.search(r'<select[^>]*name="motif".*?<option value="([^"]+)"', page.get_data(as_text=True), re.S)
        response = client.post("/cdap/consultation", data={
            "numero": SHOWCASE["numero"], "nom": SHOWCASE["nom"], "motif": motif.group(1) if motif else "",
            "csrf_token": csrf_token(client, "/cdap/consultation")})
        assert response.status_code == 200
        report["POST /cdap/consultation"] = _check(response)[0]
    page = client.get("/cdap/journal/allocataire")
    if page.status_code == 200:
        response = client.post("/cdap/journal/allocataire", data={
            "numero": SHOWCASE["numero"], "csrf_token": csrf_token(client, "/cdap/journal/allocataire")})
        report["POST /cdap/journal/allocataire"] = _check(response)[0]
    return {what: found for what, found in report.items() if found}


def walk(client) -> dict[str, list[str]]:
    """{url: problems} for every HTML page reachable from the home page."""
    seen: set[str] = set()
    variants: dict[str, int] = {}
    queue = deque(["/"])
    report: dict[str, list[str]] = consult_showcase(client)
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code in (301, 302, 303):
            location = response.headers["Location"]
            if location.startswith("/") and location not in seen:
                queue.append(location)
            continue
        assert response.status_code < 500, url
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        found, links = _check(response)
        if found:
            report[url] = found
        for href in links:
            href, _ = urldefrag(href)
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or not parts.path.startswith("/") or SKIP.search(parts.path):
                continue
            if href in seen:
                continue
            if parts.query:
                if variants.get(parts.path, 0) >= MAX_VARIANTS:
                    continue
                variants[parts.path] = variants.get(parts.path, 0) + 1
            queue.append(href)
    report[None] = sorted(seen)
    return report


@pytest.fixture
def demo(app):
    from portal.demo import USERS, seed_demo
    seed_demo()
    return [email for email, *_ in USERS]


def test_every_page_of_every_role_speaks_french(app, demo):
    from tests.support.plugin import IsolatedClient
    app.test_client_class = IsolatedClient
    failures, walked = {}, {}
    for email in demo:
        client = app.test_client()
        _sign_in(client, email)
        report = walk(client)
        walked[email] = report.pop(None)
        for url, found in report.items():
            failures[f"{email} {url}"] = found
    assert all(len(urls) > 5 for urls in walked.values()), walked
    assert not failures, "\n".join(f"{where}: {', '.join(found)}" for where, found in sorted(failures.items()))
