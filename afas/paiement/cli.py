"""`portal afas produce-ordre-paiement`: produce the day's payment order by hand (the beat does it daily)."""
import click

from portal.formatting import accord

from ..cli import afas_cli


@afas_cli.command("produce-ordre-paiement")
def ordre_paiement():
    """Produit et signe l'ordre de paiement du jour (ce qui est dû et pas encore ordonné)."""
    from portal.extensions import db
    from . import services
    ordre = services.produce_order()
    db.session.commit()
    click.echo(f"Ordre {ordre.reference} : {accord(ordre.nb_lignes, 'ligne')}." if ordre else "Rien n'est dû : aucun ordre produit.")
