"""`portal cdap ...` commands: import / generate extracts, journal verification and purge."""
from __future__ import annotations

import sys
import time

import click
from flask import current_app
from flask.cli import with_appcontext
from portal.formatting import accord


@click.group("cdap")
def cdap_group():
    """CDAP : données de référence et journal des consultations."""


@cdap_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--batch-size", type=click.IntRange(100, 50_000), default=2000, show_default=True)
@click.option("--max-errors-shown", type=int, default=50, show_default=True)
@with_appcontext
def import_command(path, batch_size, max_errors_shown):
    """Importe un extrait JSON lines (une ligne par allocataire, cf. cdap/README.md).
    Idempotent ; les lignes rejetées sont listées avec leur numéro et la raison.
    Code de sortie 1 si au moins une ligne est rejetée."""
    from .importer import import_stream
    started = time.monotonic()

    def progress(report):
        if report.imported % 100_000 < batch_size:
            click.echo(f"  {report.imported} allocataires importés ({time.monotonic() - started:.0f} s)", err=True)

    with open(path, "rb") as stream:
        report = import_stream(stream, batch_size=batch_size, on_batch=progress)
    elapsed = time.monotonic() - started
    click.echo(f"{accord(report.lines, 'ligne lue', 'lignes lues')}, {accord(report.imported, 'allocataire importé', 'allocataires importés')}, "
               f"{accord(len(report.rejected), 'ligne rejetée', 'lignes rejetées')} en {elapsed:.1f} s.")
    if report.duplicates:
        click.echo(f"{accord(report.duplicates, 'numéro présent', 'numéros présents')} plusieurs fois : la dernière ligne l'emporte.")
    for number, reason in report.rejected[:max_errors_shown]:
        click.echo(f"ligne {number} : {reason}", err=True)
    if len(report.rejected) > max_errors_shown:
        click.echo(f"… et {accord(len(report.rejected) - max_errors_shown, 'autre rejet', 'autres rejets')}.", err=True)
    if report.rejected:
        sys.exit(1)


@cdap_group.command("generate")
@click.option("--count", type=click.IntRange(1, 10_000_000), required=True)
@click.option("--out", "out_path", type=click.Path(dir_okay=False, writable=True), required=True)
@click.option("--seed", type=int, default=80, show_default=True)
@click.option("--start", type=click.IntRange(0, 9_000_000), default=1_000_000, show_default=True,
              help="Premier numéro allocataire.")
@click.option("--departement", default="80", show_default=True)
@click.option("--months", type=click.IntRange(1, 36), default=12, show_default=True,
              help="Mois d'historique (quotients, paiements).")
def generate_command(count, out_path, seed, start, departement, months):
    """Génère un extrait synthétique réaliste (Faker fr_FR), déterministe pour une graine."""
    from .generator import write_jsonl
    if start + count > 10_000_000:
        raise click.BadParameter("les numéros dépasseraient 7 chiffres", param_hint="--count/--start")
    started = time.monotonic()
    with open(out_path, "w", encoding="utf-8") as out:
        n = write_jsonl(out, count, seed=seed, start=start, departement=departement, months=months)
    click.echo(f"{accord(n, 'allocataire écrit', 'allocataires écrits')} dans {out_path} en {time.monotonic() - started:.1f} s.")


@cdap_group.group("journal")
def journal_group():
    """Journal des consultations (chaîné)."""


@journal_group.command("verify")
@with_appcontext
def journal_verify():
    """Vérifie la chaîne du journal ; code 1 et première ligne rompue sinon."""
    from .journal import verify
    report = verify()
    if report.ok:
        click.echo(f"Journal des consultations intègre ({report.checked} lignes vérifiées).")
        return
    click.echo(f"Journal rompu à la séquence {report.first_broken_seq} (ligne id={report.first_broken_id}) : "
               f"{report.reason}", err=True)
    sys.exit(1)


@journal_group.command("purge")
@click.option("--months", type=int, default=None, help="Conservation en mois (défaut CDAP_JOURNAL_RETENTION_MONTHS).")
@with_appcontext
def journal_purge(months):
    """Supprime les lignes plus anciennes que la durée de conservation."""
    from portal.extensions import db
    from .journal import purge
    months = months or current_app.config["CDAP_JOURNAL_RETENTION_MONTHS"]
    try:
        count = purge(months)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--months") from None
    db.session.commit()
    click.echo(f"{accord(count, 'ligne supprimée', 'lignes supprimées')} (conservation : {months} mois).")
