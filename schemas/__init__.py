"""XML schemas (XSD) of the EDI flows exchanged with landlords, shipped as package data.

Every schema is local: includes use relative paths inside this folder, nothing is fetched
from the network. See README.md in this folder for the specification.
"""
from pathlib import Path

SCHEMA_DIR = Path(__file__).resolve().parent
EXAMPLES_DIR = SCHEMA_DIR / "examples"
