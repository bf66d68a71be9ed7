"""What a landlord's operator is told: a signature of another file vs a file modified after
signing; a file that is not XML (or a signature that is none) refused at upload with words; a
rejected file's reason at the top of its page, its progress bar in the error colour."""
from __future__ import annotations

import io
import re
from html import unescape

import pytest

from edi.upload_checks import file_problem, signature_problem
from portal.extensions import db
from edi.models import EdiFichier

from tests.support.edi_files import build_xml
from .test_reliability import assert_rejected, records, upload


def test_signature_of_another_file_is_told_apart_from_a_modified_file(
        api_client, edi_token, landlord, signer, tenants, run_jobs):
    api = api_client(edi_token)
    first = build_xml("LOYERS", landlord, records(tenants), file_id="F-001", sequence=1)
    second = build_xml("LOYERS", landlord, records(tenants), file_id="F-002", sequence=2)
    first_id = upload(api, first, signer.sign(first))
    run_jobs()
    # The second file sent with the first file's signature: "not this file's signature".
    fid = upload(api, second, signer.sign(first))
    run_jobs()
    f = assert_rejected(api, fid, "SIGNATURE_AUTRE_FICHIER", tenants=None)
    reason = next(m["libelle"] for m in f.motifs if m["code"] == "SIGNATURE_AUTRE_FICHIER")
    assert reason.startswith("La signature ne correspond pas à ce fichier")
    assert f"fichier n° {first_id}" in reason
    # A byte changed after signing (the signed content never received): "modified after signing".
    third = build_xml("LOYERS", landlord, records(tenants), file_id="F-003", sequence=3)
    fid = upload(api, third.replace(b"61000", b"61001", 1), signer.sign(third))
    run_jobs()
    f = assert_rejected(api, fid, "EMPREINTE_DIFFERENTE")
    assert next(m["libelle"] for m in f.motifs).startswith("Fichier modifié après signature")


@pytest.mark.parametrize("head, words", [
    (b"%PDF-1.7\n...", "c'est un document PDF"),
    (b"PK\x03\x04\x14\x00", "archive ZIP ou un document bureautique"),
    (b"\x89PNG\r\n\x1a\n", "une image PNG"),
    (b"\x30\x82\x05\x10\x06\x09", "Ce fichier est une signature (.p7s)"),
    (b"numero;nom;loyer\n1;Dupont;500", "il ne commence pas par une balise XML"),
])
def test_not_xml_is_named(head, words):
    assert words in file_problem(head)


def test_xml_goes_on_to_the_processing():
    assert file_problem(b'\xef\xbb\xbf  <?xml version="1.0"?><Loyers/>') is None
    assert file_problem(b"<Loyers") is None  # malformed: the processing says so, with its accusé
    assert signature_problem(b"\x30\x82\x05\x10") is None
    assert "est un fichier XML" in signature_problem(b'<?xml version="1.0"?>')
    assert "c'est un document PDF" in signature_problem(b"%PDF-1.4")


def test_upload_refuses_a_pdf_and_a_swapped_pair_with_a_400(login, client, operator):
    from tests.support.factories import csrf_token
    login(operator)

    def post(data, signature):
        form = {"csrf_token": csrf_token(client, "/edi/depot"),
                "fichier": (io.BytesIO(data), "loyers.pdf"), "signature": (io.BytesIO(signature), "loyers.p7s")}
        return client.post("/edi/depot", data=form, content_type="multipart/form-data")

    response = post(b"%PDF-1.7 ...", b"\x30\x82\x01\x00\x06\x09")
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert "Ce fichier n'est pas un fichier XML : c'est un document PDF." in html
    assert 'id="edi-fichier-error"' in html
    swapped = post(b"\x30\x82\x01\x00\x06\x09", b'<?xml version="1.0"?><Loyers/>')
    html = unescape(swapped.get_data(as_text=True))
    assert swapped.status_code == 400
    assert "Ce fichier est une signature (.p7s)" in html and "La signature choisie est un fichier XML" in html
    assert db.session.query(EdiFichier).count() == 0


def test_rejected_file_page_shows_the_reason_first_and_an_error_bar(
        api_client, edi_token, landlord, signer, tenants, run_jobs, login, client, operator):
    api = api_client(edi_token)
    data = build_xml("LOYERS", landlord, records(tenants))
    fid = upload(api, data.replace(b"61000", b"61001", 1), signer.sign(data))
    run_jobs()
    login(operator)
    html = unescape(client.get(f"/edi/fichiers/{fid}").get_data(as_text=True))
    alert = re.search(r'data-testid="edi-rejet">(.*?)</div>', html, re.S).group(1)
    assert "Fichier rejeté" in alert and "Fichier modifié après signature" in alert and "(code EMPREINTE_DIFFERENTE)" in alert
    # At the top: before the status block and the downloads.
    assert html.index('data-testid="edi-rejet"') < html.index('data-testid="edi-status"')
    assert re.search(r'data-testid="edi-progress" class="edi-progress--erreur"', html)
