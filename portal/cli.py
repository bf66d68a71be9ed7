"""`portal` console script (= `flask --app portal`): database, demo data, audit, and the
services' own command groups (registered by each domain)."""
from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from .formatting import accord


@click.command("migrate")
@with_appcontext
def migrate_command():
    """Applique toutes les migrations Alembic (toutes les branches des services : `upgrade heads`)."""
    from flask_migrate import upgrade
    upgrade(revision="heads")
    click.echo("Base de données à jour.")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Crée les organisations, comptes et données de démonstration (idempotent)."""
    from .demo import seed_demo
    created = seed_demo()
    click.echo(f"Données de démonstration : {accord(created, 'objet créé', 'objets créés')}.")


@click.group("audit")
def audit_group():
    """Piste d'audit de sécurité."""


@audit_group.command("verify")
@with_appcontext
def audit_verify():
    """Vérifie la chaîne d'empreintes ; code 1 et première ligne rompue si elle n'est pas intacte."""
    from . import audit
    report = audit.verify()
    if report.ok:
        click.echo(f"Chaîne d'audit intègre ({report.checked} entrées vérifiées).")
        return
    click.echo(f"Chaîne d'audit rompue à la séquence {report.first_broken_seq} "
               f"(entrée id={report.first_broken_id}) : {report.reason}", err=True)
    sys.exit(1)


@audit_group.command("purge")
@click.option("--months", type=int, default=None, help="Durée de conservation (1 à 36 mois).")
@with_appcontext
def audit_purge(months):
    """Supprime les entrées plus anciennes que la durée de conservation (AUDIT_RETENTION_MONTHS par défaut)."""
    from . import audit
    from .extensions import db
    months = months or current_app.config["AUDIT_RETENTION_MONTHS"]
    try:
        count = audit.purge(months)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--months") from None
    db.session.commit()
    click.echo(f"{accord(count, 'entrée supprimée', 'entrées supprimées')} (conservation : {months} mois).")


@click.command("reconcile-jobs")
@with_appcontext
def reconcile_command():
    """Renvoie les travaux dont la réservation a expiré, jamais parvenus au broker ou en attente
    (= jobs reconcile --all-pending)."""
    from . import jobs
    sent = jobs.reconcile(resend_after_seconds=0)
    click.echo(f"{accord(len(sent), 'tâche renvoyée', 'tâches renvoyées')}.")


@click.group("jobs")
def jobs_group():
    """Travaux de fond : état et réconciliation."""


@jobs_group.command("status")
@click.option("--check", is_flag=True,
              help="Code de sortie 1 si le broker est injoignable, si une réservation a expiré ou si "
                   "une tâche attend depuis plus de --max-wait secondes (sonde de supervision).")
@click.option("--max-wait", type=int, default=900, show_default=True)
@with_appcontext
def jobs_status(check, max_wait):
    """Travaux par état, réservations expirées, plus ancien travail en attente, accès au broker."""
    from . import jobs
    report = jobs.health()
    for status, count in report["counts"].items():
        click.echo(f"{status:8} {count}")
    click.echo(f"réservations expirées : {report['expired_leases']}")
    oldest = report["oldest_pending_seconds"]
    click.echo(f"plus ancienne tâche en attente : {'aucune' if oldest is None else f'{oldest} s'}")
    broker_ok = _broker_reachable()
    click.echo(f"broker : {'joignable' if broker_ok else 'injoignable'}")
    if check and (not broker_ok or report["expired_leases"] or (oldest or 0) > max_wait):
        sys.exit(1)


def _broker_reachable() -> bool:
    celery = current_app.extensions["celery"]
    try:
        with celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
        return True
    except Exception:
        return False


@jobs_group.command("reconcile")
@click.option("--all-pending", is_flag=True,
              help="Renvoyer aussi les tâches en attente déjà envoyées (après un redémarrage "
                   "du broker sans persistance).")
@with_appcontext
def jobs_reconcile(all_pending):
    """Renvoie maintenant les travaux dont la réservation a expiré ou jamais parvenus au broker."""
    from . import jobs
    sent = jobs.reconcile(resend_after_seconds=0 if all_pending else None)
    click.echo(f"{accord(len(sent), 'tâche renvoyée', 'tâches renvoyées')}.")


def register_commands(app: Flask) -> None:
    for command in (migrate_command, seed_demo_command, audit_group, reconcile_command, jobs_group):
        app.cli.add_command(command)


def _create_app():
    from . import create_app
    return create_app()


def main() -> None:
    cli = FlaskGroup(create_app=_create_app, help="Extranet Partenaires — commandes d'exploitation.")
    cli.main(prog_name="portal")
