"""`portal afas ...` commands: barèmes (add a year without code changes), campaigns and acomptes."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from portal.formatting import accord

afas_cli = AppGroup("afas", help="Service AFAS : barèmes, campagnes et acomptes.")
bareme_cli = AppGroup("bareme", help="Barèmes AFAS versionnés par année.")
afas_cli.add_command(bareme_cli)


@bareme_cli.command("import")
@click.argument("fichier", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def bareme_import(fichier: Path):
    """Valide FICHIER (JSON) et ajoute ou remplace le barème de son année."""
    from portal.extensions import db
    from . import services
    from .bareme import BaremeError
    if fichier.stat().st_size > 200_000:
        click.echo("Fichier trop volumineux (200 ko au plus).", err=True)
        sys.exit(1)
    try:
        row = services.import_bareme(fichier.read_bytes(), None, source=fichier.name)
    except BaremeError as exc:
        db.session.rollback()
        click.echo("Barème refusé :", err=True)
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"Barème {row.annee} enregistré ({'fictif' if row.doc.get('fictif') else 'officiel'}).")


@bareme_cli.command("list")
def bareme_list():
    """Liste les barèmes en vigueur (fichiers livrés et années ajoutées par la Caf)."""
    from . import services
    for annee, b in sorted(services.all_baremes().items()):
        click.echo(f"{annee}  {b.libelle}  [{b.source}]")


@afas_cli.command("pay-acomptes")
def verser_acomptes():
    """Marque versés les acomptes échus SANS système de paiement (démonstration, tests) ; en
    service, « produce-ordre-paiement » les envoie au système de paiement, dont le retour les dit versés."""
    from portal.extensions import db
    from . import services
    count = services.pay_due_acomptes()
    db.session.commit()
    click.echo(f"{accord(count, 'acompte versé', 'acomptes versés')}.")


@afas_cli.command("record-campagnes")
def enregistrer_campagnes():
    """Enregistre les campagnes de l'exercice précédent, en cours et suivant (aussi lancé chaque jour par le beat)."""
    from portal.extensions import db
    from . import services
    count = services.record_campaigns()
    db.session.commit()
    click.echo(f"{accord(count, 'campagne enregistrée', 'campagnes enregistrées')}.")
