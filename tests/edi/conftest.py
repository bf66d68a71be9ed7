"""Fixtures of the EDI tests: a landlord with its operator, token, signer and tenants."""
from __future__ import annotations

import http.server
import threading

import pytest

from tests.support.edi_files import Signer


@pytest.fixture
def landlord(factory):
    return factory.organisation("bailleur", services={"EDI": [], "CDAP": ["bailleur"]},
                                nom="Bailleur Test")


@pytest.fixture
def other_landlord(factory):
    return factory.organisation("bailleur", services={"EDI": []}, nom="Autre Bailleur")


@pytest.fixture
def operator(factory, landlord):
    return factory.user(landlord, role="bailleur_operator", habilitations={"EDI": None})


@pytest.fixture
def caf_agent(factory):
    return factory.user(factory.caf(), role="caf_agent", habilitations={"EDI": None})


@pytest.fixture
def edi_token(factory, landlord, operator):
    _token, raw = factory.api_token(landlord, operator, scopes=("EDI",))
    return raw


@pytest.fixture
def signer(app, landlord):
    return Signer(app, landlord)


@pytest.fixture
def tenants(landlord):
    """Three tenants of `landlord` in CDAP: rent 500 € + 80 € charges, APL 250 € in tiers payant."""
    from datetime import date
    from tests.cdap.conftest import make_allocataire, make_droit, make_logement
    out = []
    for i in range(3):
        a = make_allocataire(numero=f"{7100001 + i}", nom=f"Locataire{i}")
        make_logement(a, landlord.code_bailleur, f"LOC{i + 1:06d}", loyer=50000, charges=8000,
                      tiers_payant=True, date_entree=date(2020, 1, 1))
        make_droit(a, "APL", 25000)
        out.append({"code_locataire": f"LOC{i + 1:06d}", "numero_allocataire": a.numero,
                    "allocataire": a})
    return out


@pytest.fixture
def http_probe():
    """A local HTTP server recording every request it receives: an XXE or a network entity must
    never reach it. Yields (its URL, the list of paths requested)."""
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<!ENTITY x 'pwned'>")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()
