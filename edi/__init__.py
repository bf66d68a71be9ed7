"""EDI service. `register(app)` is the only thing the portal shell calls."""
from pathlib import Path

from flask import Flask


def register(app: Flask) -> None:
    from portal.database import register_migrations
    register_migrations(app, Path(__file__).parent / "migrations" / "versions")
    from . import flows
    flows.register(app)
    # Formats, signatures, certificates and vendor tooling (edicrypto): see edi/certificates, edi/cli.
    from . import certificates, cli
    from .crypto import pki
    pki.validate_settings(app.config)
    certificates.register(app)
    cli.register_cli(app)
