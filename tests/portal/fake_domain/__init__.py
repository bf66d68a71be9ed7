"""A fourth domain, as small as can be, for tests/portal/test_registry.py: it brings to the
shell, through the one registration API, every kind of contribution a real domain does."""
from pathlib import Path

import click
from flask import Blueprint, Flask, g, jsonify
from flask.cli import AppGroup

from portal.access import ALL_ROLES_ANY, api_scope, requires
from portal.dashboards import CAF_BOARD
from portal.dashboards.charts import Chart, Dataset, Section

HERE = Path(__file__).parent
bp = Blueprint("faux", __name__, url_prefix="/faux", template_folder="templates")
api_bp = Blueprint("faux_api", __name__, url_prefix="/api/v1/faux")
cli = AppGroup("faux", help="Service d'essai.")
SEEDED: list[str] = []
REFUSED_ORGS: set[int] = set()  # organisations refused a new FAUX token (token check)


@bp.get("/")
@requires(ALL_ROLES_ANY, service="FAUX")
def index():
    return "Page du service d'essai"


@api_bp.get("/essai")
@api_scope("FAUX")
def api_essai():
    return jsonify({"profil": g.api_token.profil})


@cli.command("essai")
def essai_command():
    """Say hello."""
    click.echo("Service d'essai : bonjour.")


def home_panel(user):
    return "faux/panel.html", {"message": f"Panneau d'essai pour {user.prenom}"}


def caf_section(user, today):
    return Section([Chart(id="caf-faux-essais", title="Essais par jour", kind="bar", labels=["01/01"],
                          label_header="Jour", datasets=[Dataset("Essais", [3])], summary="3 essais.")])


def seed() -> int:
    SEEDED.append("faux")
    return 1


def token_check(org):
    return "Jetons FAUX refusés pour l'essai." if org.id in REFUSED_ORGS else None


def register(app: Flask) -> None:
    from portal.registry import Charts, DemoAccess, Domain, Nav, Service, contribute

    contribute(app, Domain(
        name="faux",
        services=[Service("FAUX", "FAUX — service d'essai",
                          profils={"essai_lecteur": "Lecteur d'essai", "essai_redacteur": "Rédacteur d'essai"},
                          token_check=token_check)],
        migrations=HERE / "migrations" / "versions",
        blueprints=[bp, api_bp],
        cli=[cli],
        nav=[Nav("Service d'essai", "faux.index", 45)],
        home_panels=[home_panel],
        charts=[Charts(CAF_BOARD.id, "faux", "FAUX — essais", caf_section, order=40)],
        beat={"faux-essai": {"task": "faux.essai", "schedule": 60.0}},
        demo_access=[DemoAccess("FAUX", contrats={"Commune d'Amiens": ["essai_lecteur"]},
                                habilitations={"gestionnaire@amiens.example": "essai_lecteur"})],
        seed=[seed],
        labels={"audit_categories": {"faux": "Service d'essai"}},
    ))
