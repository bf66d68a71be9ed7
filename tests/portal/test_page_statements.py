"""What a page costs the database, counted (behaviour, not timing): the home page of each role
and the AFAS list issue a fixed number of SQL statements, whatever the number of rows they show
(N rows and 3N rows: the same count), within a budget. Before issue #22's page work (main at
cedbd53), on the demo data: the AFAS manager's home page 148 statements, the partner admin's 80,
the AFAS list 78, the Caf agent's 33 — one statement per équipement and campaign, per
declaration's versions, per campaign window, per barème lookup, per impayé of the queue.
`bench/page_cost.py` measures the CPU time beside the counts."""
from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from portal.extensions import db
from portal.models import utcnow
from tests.support.statements import compiled_anew, counted

_seq = itertools.count(1)

# Statements of one page, session and layout included (user session with its habilitations,
# contracts and unread notifications badge: 1; the badge had a statement of its own until #22's
# page-shell work, h/cdappage, took every budget here one lower). A budget is lowered when a
# statement goes away; raising it needs a reason written here.
# Issue #22's shell work (h/loadpages) took 13/17/12/13 down to 11/15/11/12: the opened AFAS
# campaigns read once for the exercice choice and the progress chart, the Caf's certificate
# panel counted in one statement.
HOME_BUDGETS = {
    "caf_admin": 10,           # suspended organisations, certificates (1), the Caf board (AFAS 4, EDI 2, CDAP 2)
    "caf_agent": 14,           # the same board, AFAS queue counts (1), CDAP queue count, situations board (3)
    "partner_manager": 10,     # declarations to correct, expected declarations (6: once for the next
                               # actions and the AFAS panel), the partner board
    "partner_admin": 11,       # habilitations, tokens, expected declarations, the partner board
    "bailleur_operator": 6,    # last rejected files, certificates, the landlord board
    "travailleur_social": 2,   # the impayé queue count
    "responsable_equipe": 5,   # the queue count, the situations of the territory (3 statements)
    "quotient_familial": 1,
}
IMPAYES_BUDGET = 6  # page count, items with signalement and allocataire, landlords, situations, assignees
AFAS_LIST_BUDGET = 9  # équipements (twice, conventions once), campaigns, barèmes (2), declarations + versions


class Portfolio:
    """Organisations and users shaped like the demo; `grow(n)` adds n rows of everything the
    home pages and the AFAS list read (équipements with declarations, versions and conventions,
    EDI files, impayés with their situations)."""

    def __init__(self, factory):
        from afas.services import campaign_years
        from afas.schema import DECLARATION_TYPES
        self.windows = [(y, t) for y in campaign_years() for t in DECLARATION_TYPES]
        self.caf = factory.caf(territoire="80")
        self.partner = factory.organisation("collectivite", services={"AFAS": [], "CDAP": ["quotient_familial"]})
        self.landlord = factory.organisation("bailleur", services={"EDI": [], "CDAP": ["bailleur"]})
        self.cd80 = factory.organisation("conseil_departemental",
                                         services={"CDAP": ["travailleur_social", "responsable_equipe"]})
        self.users = {
            "caf_admin": factory.user(self.caf, "caf_admin"),
            "caf_agent": factory.user(self.caf, "caf_agent", {"AFAS": None, "CDAP": "agent_caf", "EDI": None}),
            "partner_manager": factory.user(self.partner, "partner_manager", {"AFAS": None}),
            "partner_admin": factory.user(self.partner, "partner_admin"),
            "bailleur_operator": factory.user(self.landlord, "bailleur_operator", {"EDI": None, "CDAP": "bailleur"}),
            "travailleur_social": factory.user(self.cd80, "travailleur_social", {"CDAP": "travailleur_social"}),
            "responsable_equipe": factory.user(self.cd80, "travailleur_social", {"CDAP": "responsable_equipe"}),
            "quotient_familial": factory.user(self.partner, "partner_manager", {"CDAP": "quotient_familial"}),
        }

    def grow(self, n: int) -> None:
        for _ in range(n):
            self._equipement()
            self._edi_file()
            self._impaye()
        db.session.flush()

    def _equipement(self):
        from afas.models import ConventionFinancement, Declaration, DeclarationVersion, Equipement
        k = next(_seq)
        eq = Equipement(organisation_id=self.partner.id, type="ALSH", nom=f"Centre {k:04d}", numero=f"PC-{k}",
                        activite="extrascolaire")
        db.session.add(eq)
        db.session.flush()
        today = date.today()
        db.session.add(ConventionFinancement(equipement_id=eq.id, reference=f"CV-{k}", debut=today - timedelta(days=300),
                                             fin=today + timedelta(days=30), signee_le=today - timedelta(days=300),
                                             document_sha256="c" * 64))
        for i, (annee, type_) in enumerate(self.windows):
            status = ("a_corriger", "brouillon", "transmise")[(k + i) % 3]
            decl = Declaration(equipement_id=eq.id, annee=annee, type=type_, status=status, data={})
            db.session.add(decl)
            db.session.flush()
            if status != "brouillon":
                version = DeclarationVersion(declaration_id=decl.id, numero=1, data={}, controles=[],
                                             justifications={}, droit={"montant": 1000.0}, bareme_annee=annee,
                                             late=False, created_at=utcnow())
                version.content_hash = version.compute_hash()
                db.session.add(version)

    def _edi_file(self):
        from edi.models import EdiFichier
        k = next(_seq)
        db.session.add(EdiFichier(organisation_id=self.landlord.id, canal="portail", nom_fichier=f"loyers-{k}.xml",
                                  sha256=f"{k:064x}", taille=10, statut="REJETE", recu_le=utcnow(), etape="termine"))

    def _impaye(self):
        from cdap.models import ImpayeQueueItem, SignalementImpaye
        from cdap.situations.models import Situation
        from tests.cdap.conftest import make_allocataire
        k = next(_seq)
        a = make_allocataire(numero=f"{7100000 + k:07d}", nom=f"Impayé{k}", departement="80")
        today = date.today()
        s = SignalementImpaye(allocataire_id=a.id, code_bailleur=self.landlord.code_bailleur,
                              idempotency_key=f"PC{k}", montant_dette_cents=120000, loyer_mensuel_cents=50000,
                              date_constitution=today - timedelta(days=40), date_signalement=today - timedelta(days=20),
                              date_limite_plan=today + timedelta(days=140), source="test")
        db.session.add(s)
        db.session.flush()
        item = ImpayeQueueItem(impaye_id=s.id, allocataire_id=a.id, statut=("nouveau", "en_cours")[k % 2],
                               echeance=today + timedelta(days=140),
                               assigned_to_id=self.users["travailleur_social"].id if k % 2 else None)
        db.session.add(item)
        db.session.flush()
        if k % 2:
            db.session.add(Situation(queue_item_id=item.id, taken_at=utcnow(), droits_a_verifier=[]))


@pytest.fixture
def portfolio(factory):
    return Portfolio(factory)


def _get(client, path):
    with counted() as statements:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True), statements


def _same_count(path, client, portfolio, budget):
    client.get(path)  # a first page of the session
    few_html, few = _get(client, path)
    portfolio.grow(4)  # N = 2 → 3N = 6
    many_html, many = _get(client, path)
    assert len(many) == len(few), "\n---\n".join(many)
    assert len(few) <= budget, "\n---\n".join(few)
    return few_html, many_html


@pytest.mark.parametrize("who", list(HOME_BUDGETS))
def test_home_page_statements_do_not_grow_with_rows(who, portfolio, client, login):
    portfolio.grow(2)
    login(portfolio.users[who])
    _same_count("/accueil", client, portfolio, HOME_BUDGETS[who])


@pytest.mark.parametrize("who, path", [("partner_manager", "/afas/"), ("partner_admin", "/afas/consultation")])
def test_afas_list_statements_do_not_grow_with_rows(who, path, portfolio, client, login):
    from afas.models import Equipement
    portfolio.grow(2)
    login(portfolio.users[who])
    few_html, many_html = _same_count(path, client, portfolio, AFAS_LIST_BUDGET)
    # the rows are really shown: every équipement's name, and the conventions to renew
    names = [e.nom for e in db.session.query(Equipement).filter_by(organisation_id=portfolio.partner.id)]
    assert len(names) == 6 and all(name in many_html for name in names)
    assert many_html.count("CV-") > few_html.count("CV-") > 0


@pytest.mark.parametrize("who, location", [("partner_manager", "/accueil"), ("caf_agent", "/connexion/code")])
def test_login_reads_the_user_once(who, location, portfolio, client, app):
    """The login form's POST: the user and its organisation, its habilitations (is MFA
    required?), the audit entry (chain head read and written), the session row — not the user,
    organisation and habilitations a second time after the commit (9 and 8 before)."""
    from tests.support.factories import PASSWORD, csrf_token, sign_in
    sign_in(app.test_client(), portfolio.users["quotient_familial"])  # a first one: the audit chain's head exists
    user = portfolio.users[who]
    token = csrf_token(client, "/connexion")
    with counted() as statements:
        r = client.post("/connexion", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"].startswith(location)
    assert len(statements) <= 7, "\n---\n".join(statements)
    assert sum(s.lstrip().upper().startswith("INSERT INTO USER_SESSIONS") for s in statements) == 1


@pytest.mark.parametrize("who", ["travailleur_social", "caf_agent"])
def test_impaye_queue_statements_do_not_grow_with_rows(who, portfolio, client, login):
    """The unpaid-rent queue: each row's signalement and allocataire come with the page's own
    query (they were read one by one: 2 statements per row before)."""
    portfolio.grow(2)
    login(portfolio.users[who])
    _few_html, many_html = _same_count("/cdap/impayes", client, portfolio, IMPAYES_BUDGET)
    assert many_html.count('data-testid="impaye-item-') == 6


@pytest.mark.parametrize("who", list(HOME_BUDGETS))
def test_pages_compile_no_statement_once_warm(who, portfolio, client, login):
    """Each statement of a page is compiled once per process, then taken from SQLAlchemy's
    compiled cache: one that cannot be cached (a dialect's ``ON CONFLICT`` construct, a statement
    built with literal values) would be compiled at every request (#22: ≈ 2.5 ms for the
    consultation's journal statement)."""
    portfolio.grow(2)
    login(portfolio.users[who])
    paths = ["/accueil", "/aide", "/notifications"]
    paths += {"partner_manager": ["/afas/"], "partner_admin": ["/afas/consultation"],
              "travailleur_social": ["/cdap/impayes"], "caf_agent": ["/cdap/impayes"]}.get(who, [])
    for path in paths:
        assert client.get(path).status_code == 200, path
    with compiled_anew() as statements:
        for path in paths:
            client.get(path)
    assert statements == [], "\n---\n".join(statements)
