"""Readable forms of the Caf's signed documents: the accusé and the avis de paiement as a PDF
and a CSV, made from the signed XML, beside it on the pages; another landlord gets a 404."""
from __future__ import annotations

import csv
import io
import re
import zlib

from sqlalchemy import select

from edi import documents
from edi.models import EdiAvisPaiement
from portal.extensions import db
from schemas import SCHEMA_DIR

from tests.support.edi_files import build_xml
from .test_pipeline_avis import payments  # noqa: F401  (fixture)
from .test_reliability import records, upload


def pdf_text(data: bytes) -> str:
    """The text drawn on the PDF's pages (fpdf2 core fonts: latin-1 strings in the streams)."""
    assert data.startswith(b"%PDF-")
    chunks = []
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            chunks.append(zlib.decompress(raw))
        except zlib.error:
            chunks.append(raw)
    return b"".join(chunks).decode("latin-1").replace("\\(", "(").replace("\\)", ")")


def rows(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))


def test_example_accuse_reads_in_french():
    xml = (SCHEMA_DIR / "examples" / "accuse-exemple.xml").read_bytes()
    doc = documents.read_accuse(xml)
    assert doc["statut"] == "Accepté partiellement"
    assert doc["fichier"]["recu_le"] == "31/07/2026 à 10:31"  # 08:31 UTC, summer time in Paris
    text = pdf_text(documents.accuse_pdf(xml, "Picardie Habitat"))
    assert "Accepté partiellement" in text and "Picardie Habitat" in text
    assert "L0003" in text and "LOCATAIRE_INCONNU" in text
    table = rows(documents.accuse_csv(xml))
    assert table[0] == ["Identifiant", "Ligne", "Code", "Motif", "Gravité"]
    assert table[1][:3] == ["L0003", "54", "LOCATAIRE_INCONNU"] and table[1][4] == "Erreur"


def test_example_avis_reads_in_french():
    xml = (SCHEMA_DIR / "examples" / "avis-paiement-exemple.xml").read_bytes()
    text = pdf_text(documents.avis_pdf(xml, "Picardie Habitat"))
    assert "octobre 2026" in text and "600,55 EUR" in text.replace("\u202f", " ")
    assert "LOC000123" in text and "25/10/2026" in text
    table = rows(documents.avis_csv(xml))
    assert table[1] == ["P0001", "LOC000123", "8000001", "LEFÈVRE Amandine", "APL", "312,45", "25/10/2026"]


def test_accuse_pdf_and_csv_beside_the_signed_xml(api_client, edi_token, landlord, signer, tenants,
                                                  run_jobs, login, client, operator, other_landlord, factory):
    api = api_client(edi_token)
    data = build_xml("LOYERS", landlord, records(tenants))
    fid = upload(api, data.replace(b"61000", b"61001", 1), signer.sign(data))
    run_jobs()
    login(operator)
    page = client.get(f"/edi/fichiers/{fid}").get_data(as_text=True)
    assert 'data-testid="edi-download-accuse-pdf"' in page and 'data-testid="edi-download-accuse-csv"' in page
    pdf = client.get(f"/edi/fichiers/{fid}/telecharger/accuse-pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "attachment" in pdf.headers["Content-Disposition"]
    text = pdf_text(pdf.data)
    assert "Rejeté" in text and "Fichier modifié après signature" in text and "EMPREINTE_DIFFERENTE" in text
    csv_response = client.get(f"/edi/fichiers/{fid}/telecharger/accuse-csv")
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"
    stranger = factory.user(other_landlord, role="bailleur_operator", habilitations={"EDI": None})
    other = client.application.test_client()
    login(stranger, on=other)
    assert other.get(f"/edi/fichiers/{fid}/telecharger/accuse-pdf").status_code == 404


def test_avis_pdf_and_csv_on_the_notices_page(app, payments, landlord, run_jobs, client, login, operator):  # noqa: F811
    from edi.tasks import schedule_avis_paiement
    schedule_avis_paiement.run(2026, 10)
    run_jobs()
    avis = db.session.scalar(select(EdiAvisPaiement))
    login(operator)
    page = client.get("/edi/avis-paiement").get_data(as_text=True)
    assert 'data-testid="edi-avis-pdf"' in page and 'data-testid="edi-avis-csv"' in page
    text = pdf_text(client.get(f"/edi/avis-paiement/{avis.id}/pdf").data)
    assert "octobre 2026" in text and "750,03 EUR" in text.replace("\u202f", " ")
    table = rows(client.get(f"/edi/avis-paiement/{avis.id}/csv").get_data(as_text=True))
    assert [r[5] for r in table[1:]] == ["250,00", "250,01", "250,02"]
    assert client.get(f"/edi/avis-paiement/{avis.id}/docx").status_code == 404
