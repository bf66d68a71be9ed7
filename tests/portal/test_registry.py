"""One way in for every domain: an app serving only a tiny fake domain (tests/portal/fake_domain)
shows each of its contributions where the shell puts them, and a wrong declaration stops the
start-up instead of vanishing."""
import os
import re
import types

import pytest

from portal import create_app, registry
from portal.audit import record_event
from portal.extensions import db
from tests.support.factories import sign_in
from tests.support import plugin
from tests.portal import fake_domain


@pytest.fixture(scope="module")
def build(app):
    """build(*domains): an app serving only these domains, on the suite's database (the test's
    rolled-back session serves both apps). The suite's Celery app stays the default one."""
    built = []

    def _build(*domains):
        try:
            built.append(create_app(plugin.app_overrides("registry", DATABASE_URL=plugin.test_database_url("main")),
                                    domains=domains))
            return built[-1]
        finally:
            app.extensions["celery"].set_default()
    yield _build
    for other in built:  # their pools, closed rather than left to the garbage collector
        with other.app_context():
            db.engine.dispose()


@pytest.fixture(scope="module")
def fake_app(build):
    return build(fake_domain)


@pytest.fixture
def fake_client(fake_app):
    fake_app.test_client_class = plugin.IsolatedClient
    return fake_app.test_client()


def _org_with_faux(factory, profils=("essai_lecteur",)):
    return factory.organisation(services={"FAUX": list(profils)})


def _here(obj):
    """``obj`` (made by the factories in the suite app's session) in the current app's session."""
    return db.session.get(type(obj), obj.id)


def test_the_registry_holds_the_fake_domain_and_the_shell_only(fake_app):
    contributions = registry.of(fake_app)
    assert contributions.domains == ["portal", "faux"]
    assert list(contributions.services) == ["FAUX"]
    assert contributions.profils("FAUX") == {"essai_lecteur": "Lecteur d'essai", "essai_redacteur": "Rédacteur d'essai"}
    assert not any(rule.endpoint.startswith(("afas", "cdap", "edi")) for rule in fake_app.url_map.iter_rules()
                   if not rule.rule.startswith("/api/"))


def test_nav_entry_and_home_panel_and_page(fake_client, factory):
    user = factory.user(org=_org_with_faux(factory), habilitations={"FAUX": "essai_lecteur"}, prenom="Inès")
    sign_in(fake_client, user)
    html = fake_client.get("/accueil").get_data(as_text=True)
    assert re.search(r'<a [^>]*href="/faux/"[^>]*>Service d&#39;essai</a>', html)
    assert 'data-testid="panneau-faux"' in html and "Panneau d&#39;essai pour Inès" in html
    assert "Vos services : FAUX — service d&#39;essai." in html  # the label, not the code
    assert fake_client.get("/faux/").get_data(as_text=True) == "Page du service d'essai"


def test_nav_entry_hidden_without_the_habilitation(fake_client, factory):
    user = factory.user(org=_org_with_faux(factory))
    sign_in(fake_client, user)
    assert "Service d'essai" not in fake_client.get("/accueil").get_data(as_text=True)
    assert fake_client.get("/faux/").status_code == 403


def test_chart_on_the_caf_board(fake_client, factory):
    agent = factory.user(org=factory.caf(), role="caf_agent")
    sign_in(fake_client, agent)
    html = fake_client.get("/accueil").get_data(as_text=True)
    assert 'data-testid="tableau-de-bord-caf"' in html and "FAUX — essais" in html
    assert 'data-testid="chart-caf-faux-essais"' in html and "3 essais." in html
    assert "caf-afas-campagne" not in html  # no AFAS here: only what the app's domains register


def test_beat_entry_cli_group_and_migrations(fake_app):
    assert fake_app.extensions["celery"].conf.beat_schedule["faux-essai"]["task"] == "faux.essai"
    runner = fake_app.test_cli_runner()
    assert re.search(r"^\s+faux\s+Service d'essai", runner.invoke(args=["--help"]).output, re.M)
    assert runner.invoke(args=["faux", "essai"]).output == "Service d'essai : bonjour.\n"
    versions = str(fake_domain.HERE / "migrations" / "versions")
    assert registry.of(fake_app).migration_dirs[-1] == versions
    with fake_app.app_context():
        config = fake_app.extensions["migrate"].migrate.get_config()
        assert versions in config.get_main_option("version_locations").split(os.pathsep)


def test_habilitation_profiles_are_the_domain_s(fake_app, fake_client, factory):
    from portal.admin import services
    org = _org_with_faux(factory)
    admin = factory.user(org=org, role="partner_admin")
    user = factory.user(org=org)
    other = factory.organisation()
    with fake_app.app_context():
        with pytest.raises(services.AdminError, match="profil FAUX prévu par le contrat"):
            services.grant_habilitation(_here(user), actor=_here(admin), service="FAUX", profil="essai_redacteur")
        hab = services.grant_habilitation(_here(user), actor=_here(admin), service="FAUX", profil="essai_lecteur")
        assert hab.profil == "essai_lecteur"
        with pytest.raises(services.AdminError, match="Un contrat FAUX liste au moins un profil connu"):
            services.add_contrat(_here(other), actor=_here(admin), service="FAUX", profils=["bailleur"],
                                 debut=hab.granted_at, fin=None)
    sign_in(fake_client, admin)
    page = fake_client.get(f"/administration/utilisateurs/{user.id}").get_data(as_text=True)
    assert "Profil FAUX (pour le service FAUX)" in page
    assert '<option value="essai_lecteur">Lecteur d&#39;essai</option>' in page
    assert "essai_redacteur" not in page  # not in this organisation's contract


def test_api_scope_with_its_profile_and_token_check(fake_app, fake_client, factory):
    from portal.admin import services
    org = _org_with_faux(factory)
    admin = factory.user(org=org, role="partner_admin")
    with fake_app.app_context():
        org, admin = _here(org), _here(admin)
        with pytest.raises(services.AdminError, match="Un jeton FAUX demande un profil"):
            services.create_api_token(org, actor=admin, nom="Logiciel", scopes=["FAUX"], profil=None, days=10)
        _token, raw = services.create_api_token(org, actor=admin, nom="Logiciel", scopes=["FAUX"],
                                                profil="essai_lecteur", days=10)
        fake_domain.REFUSED_ORGS.add(org.id)
        try:
            with pytest.raises(services.AdminError, match="Jetons FAUX refusés pour l'essai."):
                services.create_api_token(org, actor=admin, nom="Autre", scopes=["FAUX"],
                                          profil="essai_lecteur", days=10)
        finally:
            fake_domain.REFUSED_ORGS.discard(org.id)
    bearer = {"Authorization": f"Bearer {raw}"}
    assert fake_client.get("/api/v1/faux/essai", headers=bearer).get_json() == {"profil": "essai_lecteur"}
    jeton = fake_client.get("/api/v1/moi", headers=bearer).get_json()["jeton"]
    assert jeton["portees"] == ["FAUX"] and jeton["profil_faux"] == "essai_lecteur" and "profil_cdap" not in jeton
    spec = fake_client.get("/api/v1/openapi.json").get_json()
    moi = spec["paths"]["/moi"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert moi["properties"]["jeton"]["properties"]["portees"]["items"]["enum"] == ["FAUX"]


def test_demo_access_and_seed_step(fake_app):
    from portal.demo import seed_demo
    from portal.models import Organisation, User
    fake_domain.SEEDED.clear()
    with fake_app.app_context():
        assert seed_demo() > 0
        amiens = db.session.scalar(db.select(Organisation).where(Organisation.nom == "Commune d'Amiens"))
        assert [(c.service, c.profils) for c in amiens.contrats] == [("FAUX", ["essai_lecteur"])]
        manager = db.session.scalar(db.select(User).where(User.email == "gestionnaire@amiens.example"))
        assert manager.habilitation("FAUX").profil == "essai_lecteur"
    assert fake_domain.SEEDED == ["faux"]


def test_label_table_on_the_audit_trail(fake_app, fake_client, factory):
    caf_admin = factory.user(org=factory.caf(), role="caf_admin")
    with fake_app.app_context():
        record_event("faux", "essai", actor=_here(caf_admin))
        db.session.commit()
        assert registry.current().label("audit_categories", "faux") == "Service d'essai"
    sign_in(fake_client, caf_admin)
    html = fake_client.get("/caf/administration/audit?category=faux").get_data(as_text=True)
    assert re.search(r'<option [^>]*value="faux">Service d&#39;essai</option>', html)
    assert "<td>Service d&#39;essai</td>" in html


# --- A wrong declaration stops the start-up ---------------------------------------------------

def _domain_module(name, **declared):
    """A throwaway domain module whose register() contributes ``declared``."""
    def register(app):
        registry.contribute(app, registry.Domain(name=name, **declared))
    return types.SimpleNamespace(register=register)


def test_a_broken_chart_module_fails_loudly(build):
    def register(app):
        from tests.portal.fake_domain import dashboard_qui_n_existe_pas  # noqa: F401
    with pytest.raises(ImportError):
        build(types.SimpleNamespace(register=register))


@pytest.mark.parametrize("declared, message", [
    ({"charts": [registry.Charts("tableau-inconnu", "x", "X", lambda user, today: None)]},
     "tableau de bord inconnu tableau-inconnu"),
    ({"nav": [registry.Nav("Nulle part", "faux2.nulle_part")]}, "route inconnue faux2.nulle_part"),
    ({"services": [registry.Service("X", "X", profils={"agent_caf": "Agent"}),
                   registry.Service("Y", "Y", profils={"agent_caf": "Agent"})]},
     "profil agent_caf déclaré par X et Y"),
    ({"beat": {"reconcile-jobs-bis": {}}, "services": [registry.Service("X", "X")]}, None),
])
def test_contradictory_or_dangling_declarations_stop_the_start_up(build, declared, message):
    if message is None:  # a sound declaration starts
        assert "reconcile-jobs-bis" in registry.of(build(_domain_module("faux2", **declared))).beat
        return
    with pytest.raises(registry.RegistryError, match=message):
        build(_domain_module("faux2", **declared))


def test_a_service_declared_twice_stops_the_start_up(build):
    with pytest.raises(registry.RegistryError, match="service déclaré deux fois : FAUX"):
        build(fake_domain, _domain_module("faux2", services=[registry.Service("FAUX", "Autre")]))
