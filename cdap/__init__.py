"""CDAP service: traced, profile-limited consultation of a beneficiary's file.

`register(app)` is the only thing the portal shell calls.
"""
from pathlib import Path

from flask import Flask


def register(app: Flask) -> None:
    from portal.database import register_migrations
    register_migrations(app, Path(__file__).parent / "migrations" / "versions")
    from . import models  # noqa: F401  (tables on the metadata)
