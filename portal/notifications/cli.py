"""`portal notifications ...`: send the daily digest now (the beat sends it every morning)."""
import click
from flask.cli import AppGroup

notifications_cli = AppGroup("notifications", help="Notifications : résumé quotidien.")


@notifications_cli.command("send-digest")
def digest():
    """Envoie maintenant le résumé quotidien des notifications en attente (comme le beat à 7 h 30)."""
    from ..extensions import db
    from .services import send_digests
    count = send_digests()
    db.session.commit()
    click.echo(f"Résumés envoyés : {count}.")
