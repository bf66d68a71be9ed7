"""`portal edi ...`: offline tooling for landlords' software vendors and operators.

    portal edi validate FILE [--flux LOYERS] [--at D] schema + envelope rules needing no database
    portal edi sign FILE --key K --cert C [--out P]  writes FILE.p7s (detached CMS, DER, SHA-256)
    portal edi verify FILE FILE.p7s [--ca CA.pem]    signature + chain (given CA or trust anchors)
    portal edi example FLUX [-o FILE]                an example file dated now, with a new identifier
    portal edi demo-pki                              where the demo keys and certificates live

Exit status 0 when everything is fine, 1 otherwise with the reasons (codes) on stderr.
Other EDI commands may be added to the same group: ``from edi.cli import edi_cli``.
"""
from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from portal.formatting import accord

edi_cli = AppGroup("edi", help="Échanges EDI avec les bailleurs : validation, signature, vérification.")


def _fail(lines: list[str]) -> None:
    for line in lines:
        click.echo(line, err=True)
    sys.exit(1)


@edi_cli.command("validate")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--flux", "flow", type=click.Choice(["LOYERS", "IMPAYES", "MOUVEMENTS", "ACCUSE", "AVIS_PAIEMENT"]),
              default=None, help="Flux attendu (par défaut : déduit de l'espace de noms).")
@click.option("--max-mo", type=int, default=1024, show_default=True, help="Taille maximale (Mo).")
@click.option("--at", "at", type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]),
              default=None,
              help="Vérifier la date de création comme le ferait la réception à cet instant (UTC) : "
                   "hors fenêtre, le fichier est non conforme. Sans cette option, la fenêtre de "
                   "réception n'est qu'un avertissement.")
def validate_command(file: Path, flow, max_mo, at):
    """Valide FILE : XSD, enveloppe, nombre d'enregistrements, identifiants uniques (et fenêtre de
    date de création de la réception : avertissement, ou erreur avec --at)."""
    from .formats import validate_file
    if not file.exists():
        _fail([f"FICHIER_ILLISIBLE : fichier introuvable ({file})"])
    now = at.replace(tzinfo=UTC) if at else datetime.now(UTC)
    report = validate_file(file, flow, now=now, max_bytes=max_mo * 1024 * 1024,
                           freshness_as_warning=at is None)
    if not report.ok:
        _fail([f"{file} : NON CONFORME"] + [
            f"  {e.code}{f' (ligne {e.line})' if e.line else ''} : {e.message}" for e in report.errors])
    for warning in report.warnings:
        click.echo(f"  avertissement {warning.code} : {warning.message} (refusé à la réception ; "
                   "--at pour le vérifier à une date donnée)", err=True)
    env = report.envelope
    click.echo(f"{file} : conforme — flux {env.flow} v{env.schema_version}, {accord(report.records, 'enregistrement')}, "
               f"émetteur {env.sender_code} / {env.sender_siren}, fichier {env.file_id} "
               f"(séquence {env.sequence}, mode {env.mode}).")


@edi_cli.command("sign")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Clé privée PEM (RSA ou EC).")
@click.option("--cert", "cert_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Certificat PEM du signataire (puis ses intermédiaires éventuels).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Fichier de signature (défaut : FILE.p7s).")
@click.option("--password-env", default=None, help="Variable d'environnement contenant le mot de passe de la clé.")
def sign_command(file: Path, key_path: Path, cert_path: Path, out_path, password_env):
    """Signe FILE : CMS détaché (CAdES-BES), DER, SHA-256 -> FILE.p7s."""
    import os

    from portal.crypto.signature import SignatureError, load_certificates, load_private_key, sign_file
    password = os.environ.get(password_env, "").encode() if password_env else None
    try:
        key = load_private_key(key_path.read_bytes(), password or None)
    except (ValueError, TypeError):
        _fail(["Clé privée illisible (PEM attendu ; mot de passe ?)."])
    try:
        certs = load_certificates(cert_path.read_bytes())
    except ValueError:
        _fail(["Certificat illisible (PEM attendu)."])
    if certs[0].public_key().public_numbers() != key.public_key().public_numbers():
        _fail(["Le certificat ne correspond pas à la clé privée."])
    try:
        out = sign_file(file, key, certs[0], out_path, extra_certs=certs[1:])
    except SignatureError as exc:
        _fail([f"{exc.code} : {exc.message}"])
    click.echo(f"Signature écrite : {out}")


@edi_cli.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("signature", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--ca", "ca_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Autorité(s) de confiance PEM (défaut : celles configurées pour la Caf).")
@click.option("--at", "at_text", default=None, help="Date de vérification ISO 8601 (défaut : maintenant).")
def verify_command(file: Path, signature: Path, ca_path, at_text):
    """Vérifie FILE avec sa signature détachée et la chaîne de certificats du signataire."""
    from .formats import parse_utc
    from portal.crypto.signature import (
        SignatureError,
        certificate_fingerprint,
        load_certificates,
        read_signature,
        verify_detached,
    )
    try:
        if ca_path:
            anchors = load_certificates(ca_path.read_bytes())
        else:
            from portal.crypto.pki import trust_anchors
            anchors = trust_anchors(current_app.config)
    except ValueError:
        _fail(["Autorité de confiance illisible (PEM attendu)."])
    try:
        at = parse_utc(at_text) if at_text else datetime.now(UTC)
    except ValueError:
        _fail(["--at : date ISO 8601 en UTC attendue (ex. 2026-07-31T08:30:00Z)."])
    try:
        verified = verify_detached(file, read_signature(signature), anchors, at)
    except SignatureError as exc:
        _fail([f"{file} : SIGNATURE REFUSÉE", f"  {exc.code} : {exc.message}"])
    click.echo(f"{file} : signature valide\n"
               f"  signataire : {verified.signer_subject}\n"
               f"  empreinte du certificat (SHA-256) : {certificate_fingerprint(verified.signer)}\n"
               f"  autorité : {verified.chain[-1].subject.rfc4514_string()}\n"
               f"  SHA-256 du fichier : {verified.data_sha256}\n"
               f"  algorithmes : {verified.digest_algorithm} / {verified.signature_algorithm}")


@edi_cli.command("example")
@click.argument("flow", type=click.Choice(["LOYERS", "IMPAYES", "MOUVEMENTS"]))
@click.option("-o", "--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Fichier à écrire (défaut : sortie standard).")
@click.option("--mode", type=click.Choice(["TEST", "PRODUCTION"]), default=None,
              help="Mode de l'enveloppe (défaut : celui de l'exemple, TEST).")
def example_command(flow, out_path, mode):
    """Écrit l'exemple annoté du flux FLOW, daté de maintenant, avec un nouvel identifiant de fichier."""
    from .formats import fresh_example
    data = fresh_example(flow, datetime.now(UTC), mode=mode)
    if out_path:
        out_path.write_bytes(data)
        click.echo(f"Exemple {flow} écrit : {out_path}")
    else:
        click.echo(data.decode(), nl=False)


@edi_cli.command("demo-pki")
def demo_pki_command():
    """Crée (au besoin) et montre la PKI de démonstration : AC, clés et certificats de la Caf et de Picardie Habitat."""
    from portal.crypto.pki import DEMO_CA_NAME, ensure_demo_pki
    if current_app.config.get("PORTAL_ENV") == "production":
        _fail(["La PKI de démonstration n'existe pas en production (EDI_TRUST_ANCHORS, EDI_CAF_SIGNING_*)."])
    pki = ensure_demo_pki(current_app.config["VAR_DIR"])
    click.echo(f"PKI de démonstration : {pki.directory}\n"
               f"  AC « {DEMO_CA_NAME} » : {pki.path('ca_cert')}\n"
               f"  Caf (signature des accusés) : {pki.path('caf_cert')}  clé {pki.path('caf_key')}\n"
               f"  Picardie Habitat (BL080001) : {pki.path('bailleur_cert')}  clé {pki.path('bailleur_key')}\n\n"
               "Signer un fichier comme Picardie Habitat :\n"
               f"  openssl cms -sign -binary -md sha256 -outform DER -in loyers.xml "
               f"-signer {pki.path('bailleur_cert')} -inkey {pki.path('bailleur_key')} -out loyers.xml.p7s\n"
               "Vérifier un accusé de la Caf :\n"
               f"  openssl cms -verify -binary -inform DER -in accuse.xml.p7s -content accuse.xml "
               f"-CAfile {pki.path('ca_cert')} -out /dev/null")

