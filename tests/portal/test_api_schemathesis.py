"""The API does what its OpenAPI document says (issue #18), checked by schemathesis.

The real app (`create_app`) on a database of its own — a SQLite file, or the PostgreSQL database
`<TEST_DATABASE_URL>_schemathesis` — migrated, seeded with the demo data, with one token per
scope and something for each to find (AFAS declarations, the showcase allocataire, a processed
EDI file, an AVIS_PAIEMENT). Everything is committed: each call is a real request to the WSGI
app, which commits as in production. Only this app's CDAP tokens are exempt from the
atypical-use suspension (CDAP_ATYPICAL_EXEMPT_TOKENS, refused outside tests): otherwise the
bursts of consultations would answer 403 after a few calls and the consultation would never
be reached.

One bounded, deterministic run per scope (AFAS, CDAP, EDI, and the scope-less /moi): the
schemathesis phases "examples", "coverage" (boundaries and negative values, deterministic by
construction) and "fuzzing" (Hypothesis, derandomized: a fixed seed, no example database).
Every default check runs, among them: no 5xx, the status code is documented, the response
matches its documented schema and media type, invalid input is refused, valid input is
accepted, a request without a token answers 401.

Hooks steer part of the generated identifiers and bodies to the seeded objects, so that the
handlers' paths beyond "404" are exercised too.
"""
from __future__ import annotations

import io
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.support import plugin

pytestmark = pytest.mark.committed

NAME = "schemathesis"
SEED = 18  # the number: any fixed value makes the run repeatable
MAX_EXAMPLES = 25  # fuzzing phase, per operation
RUN = settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
               suppress_health_check=list(HealthCheck), print_blob=False)

# What the hooks plant into generated cases; filled by the `world` fixture.
WORLD: dict = {}


@pytest.fixture(scope="module")
def world():
    """The app on its own database, seeded and committed; tokens and identifiers in WORLD."""
    from flask import request

    from portal import create_app
    from portal.extensions import db

    WORLD.clear()
    url = plugin.test_database_url(NAME)
    plugin.ensure_postgres_database(url)
    app = create_app(plugin.app_overrides(NAME, DATABASE_URL=url, CDAP_ATYPICAL_EXEMPT_TOKENS="1"))
    plugin.reset_database(app)
    seen = WORLD.setdefault("seen", Counter())

    @app.after_request
    def _count(response):
        if request.url_rule is not None:
            seen[(request.method, request.url_rule.rule, response.status_code)] += 1
        return response

    with app.app_context():
        WORLD.update(_seed(app))
        db.session.commit()
    WORLD["app"] = app
    yield WORLD
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    WORLD.clear()


def _seed(app) -> dict:
    from sqlalchemy import select

    from afas import demo as afas_demo
    from afas import services as afas_services
    from afas.convention_service import service_actif
    from afas.models import Declaration, Equipement
    from cdap.demo import SHOWCASE, demo_tenants
    from edi import services as edi_services
    from edi.models import EdiAvisPaiement
    from portal import jobs
    from portal.demo import seed_demo
    from portal.extensions import db
    from portal.models import Organisation, User
    from tests.support.edi_files import Signer, build_xml
    from tests.support.factories import api_token

    seed_demo()

    def org(nom):
        return db.session.scalar(select(Organisation).where(Organisation.nom == nom))

    def user(email):
        return db.session.scalar(select(User).where(User.email == email))

    amiens, habitat = org("Commune d'Amiens"), org("Picardie Habitat")
    cd80 = org("Conseil départemental de la Somme")
    tokens = {
        "AFAS": api_token(amiens, user("admin@amiens.example"), scopes=("AFAS",))[1],
        "CDAP": api_token(cd80, user("ts@somme.example"), scopes=("CDAP",),
                          profil="travailleur_social")[1],
        "EDI": api_token(habitat, user("admin@picardie-habitat.example"), scopes=("EDI",))[1],
        # /moi: any valid token; this one has two scopes and a CDAP profile.
        "Jetons": api_token(habitat, user("admin@picardie-habitat.example"), scopes=("CDAP", "EDI"),
                            profil="bailleur")[1],
    }
    equipements = db.session.scalars(select(Equipement).where(
        Equipement.organisation_id == amiens.id).order_by(Equipement.id)).all()
    # Drafts of this year's prévisionnel, complete and coherent: a transmission can succeed.
    manager = user("gestionnaire@amiens.example")
    ready = []
    for eq in equipements:
        if not service_actif(eq):   # the demo's micro-crèche without a convention in force
            continue
        decl = afas_services.create_declaration(eq, afas_services.today().year, "previsionnel", manager)
        evaluation = afas_services.save_draft(decl, afas_demo.demo_data(eq.type), None, manager)
        if not evaluation.bloquants and not evaluation.missing_justifications({}):
            ready.append(decl.id)
    declarations = db.session.scalars(select(Declaration.id).where(
        Declaration.equipement_id.in_([e.id for e in equipements])).order_by(Declaration.id)).all()
    assert ready and declarations, "données AFAS de démonstration absentes"
    db.session.commit()

    # Two EDI files: one signed and processed (accusé, anomalies), one still waiting (409).
    signer = Signer(app, habitat)
    tenants = demo_tenants()[:3]
    records = [{"identifiant": f"R{i}", "code_agence": "AG01", "code_locataire": t["code_locataire"],
                "numero_allocataire": t["numero_allocataire"], "loyer_cents": t["loyer_cents"],
                "charges_cents": t["charges_cents"], "date_effet": "2026-01-01",
                "nb_colocataires": 0} for i, t in enumerate(tenants)]
    records.append({**records[0], "identifiant": "R-INCONNU", "code_locataire": "LOC999999"})
    xml = build_xml("LOYERS", habitat, records, file_id="SCHEMATHESIS-1")
    processed = edi_services.receive_file(habitat, io.BytesIO(xml), "LOYERS.xml",
                                          io.BytesIO(signer.sign(xml)), canal="api")
    db.session.commit()
    assert jobs.run(processed.job_id) == "done"
    waiting = edi_services.receive_file(habitat, io.BytesIO(b"<Loyers/>"), "ATTENTE.xml",
                                        io.BytesIO(b"\x30\x80"), canal="api")
    db.session.commit()
    db.session.refresh(processed)
    assert processed.accuse_sha256, processed.statut
    avis = db.session.scalars(select(EdiAvisPaiement.id).where(
        EdiAvisPaiement.organisation_id == habitat.id)).all()
    assert avis, "avis de paiement de démonstration absent"
    return {
        "tokens": tokens,
        # Complete drafts first and only the last other declarations: the demo's history grows
        # (the payment hand-off adds two), and a PUT that succeeds must still be reached.
        "path": {"id": [*ready, *[d for d in declarations if d not in ready][-8:]], "fichier_id": [processed.id, waiting.id], "avis_id": avis},
        "equipements": [e.id for e in equipements],
        "consultation": {"numero_allocataire": SHOWCASE["numero"], "nom": SHOWCASE["nom"],
                         "motif": "accompagnement_social"},
    }


def closed_responses(node, in_response: bool = False) -> None:
    """Every object of a response schema that lists its properties gets `additionalProperties:
    false` (unless it says otherwise): a key the handler returns and the document does not list
    fails the run. (Not in the served document: a client must tolerate a new key.)"""
    if isinstance(node, dict):
        if in_response and "properties" in node:
            node.setdefault("additionalProperties", False)
        for key, value in node.items():
            closed_responses(value, in_response or key == "responses")
    elif isinstance(node, list):
        for value in node:
            closed_responses(value, in_response)


@pytest.fixture(scope="module")
def api_schema(world):
    config = schemathesis.Config.from_dict({
        "seed": SEED,
        # The token is the one of the operation's scope (`call`), not a generated header.
        "generation": {"deterministic": True, "database": "none", "with-security-parameters": False},
        "phases": {"stateful": {"enabled": False}},
        "operations": [{
            # Valid bodies that the business rules refuse with 422, by design: a motif of the
            # list that the token's profile may not use (GET /cdap/motifs gives its own); AFAS
            # values of the right JSON type that are not numbers of the field (« beaucoup »),
            # out of its bounds, or a field of another type of équipement.
            "include-path": ["/cdap/consultations", "/afas/declarations", "/afas/declarations/{id}",
                             "/afas/declarations/{id}/controles"],
            "checks": {"positive_data_acceptance": {"expected-statuses": [
                "2xx", "401", "403", "404", "409", "422"]}},
        }, {
            # The parts of a multipart upload are bytes: a "string that is not `binary`" cannot be
            # told from a file on the wire, and the upload keeps any bytes before checking them
            # (the file is then REJETE). Missing parts: tests/edi/test_api_intake.py.
            "include-path": "/edi/fichiers", "include-method": "POST",
            "checks": {"negative_data_rejection": {"enabled": False}},
        }],
    })
    document = world["app"].test_client().get("/api/v1/openapi.json").get_json()
    closed_responses(document["paths"])
    closed_responses(document["components"], in_response=True)
    loaded = schemathesis.openapi.from_dict(document, config=config)
    loaded.app = world["app"]  # calls go to the WSGI app, as with from_wsgi

    @loaded.hook
    def flatmap_path_parameters(context, path_parameters):
        """Now and then, an identifier of a seeded object instead of the generated one."""
        if not path_parameters:
            return st.just(path_parameters)
        known = [{**path_parameters, name: value}
                 for name in path_parameters for value in WORLD["path"].get(name, [])]
        return st.sampled_from([path_parameters, *known]) if known else st.just(path_parameters)

    @loaded.hook
    def flatmap_body(context, body):
        """Now and then, a body that names a seeded object (an equipement, the allocataire)."""
        if not isinstance(body, dict):
            return st.just(body)
        path = context.operation.path
        if path == "/afas/declarations":
            changes = [{"equipement_id": e} for e in WORLD["equipements"]]
        elif path == "/afas/declarations/{id}" and context.operation.method.upper() == "PUT":
            # a draft saved as it is: the generated values are mostly refused by design (422),
            # and whether one passes depended on the seed the whole document derives
            changes = [{"donnees": {}, "justifications": {}}]
        elif path == "/cdap/consultations":
            changes = [WORLD["consultation"]]
        else:
            return st.just(body)
        return st.sampled_from([body, *({**body, **c} for c in changes)])

    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


def call(case, world):
    tags = case.operation.tags or []
    scope = next((t for t in tags if t in world["tokens"]), "Jetons")
    case.call_and_validate(headers={"Authorization": f"Bearer {world['tokens'][scope]}"})


@schema.include(tag="AFAS").parametrize()
@RUN
def test_afas(case, world):
    call(case, world)


@schema.include(tag="CDAP").parametrize()
@RUN
def test_cdap(case, world):
    call(case, world)


@schema.include(tag="EDI").parametrize()
@RUN
def test_edi(case, world):
    call(case, world)


@schema.exclude(tag=["AFAS", "CDAP", "EDI"]).parametrize()
@RUN
def test_sans_portee(case, world):
    call(case, world)



# The run must reach the handlers beyond the refusals: a success for each of these (method, route).
REACHED = [
    ("GET", "/afas/equipements", 200), ("GET", "/afas/campagnes", 200),
    ("POST", "/afas/declarations", 201), ("GET", "/afas/declarations/<int:did>", 200),
    ("PUT", "/afas/declarations/<int:did>", 200), ("POST", "/afas/declarations/<int:did>/controles", 200),
    ("POST", "/afas/declarations/<int:did>/transmission", 201),
    ("GET", "/cdap/motifs", 200), ("POST", "/cdap/consultations", 200),
    ("POST", "/edi/fichiers", 202), ("GET", "/edi/fichiers", 200), ("GET", "/edi/fichiers/<int:fichier_id>", 200),
    ("GET", "/edi/fichiers/<int:fichier_id>/anomalies", 200), ("GET", "/edi/fichiers/<int:fichier_id>/accuse", 200),
    ("GET", "/edi/fichiers/<int:fichier_id>/accuse", 409), ("GET", "/edi/avis-paiement/<int:avis_id>", 200),
    ("GET", "/moi", 200),
]


def test_the_run_reached_the_seeded_data(world):
    """After the runs above (same module): the hooks did lead schemathesis to the data."""
    seen = world["seen"]
    if not any(rule != "/api/v1/openapi.json" for _m, rule, _s in seen):
        pytest.skip("les exécutions schemathesis de ce module n'ont pas tourné (sélection -k ?)")
    missed = [f"{m} {rule} -> {status}" for m, rule, status in REACHED
              if not seen[(m, "/api/v1" + rule, status)]]
    assert missed == [], "jamais atteint : " + ", ".join(missed)
