"""Landlord operator journey with a real Celery worker: uploads a signed LOYERS file (one record
names an unknown allocataire) and a signed IMPAYES file, watches processing finish, reads the
per-record errors and downloads the signed acknowledgment."""
from pathlib import Path

import pytest

from tests.support.browser import assert_page_basics, sign_in, text

pytestmark = pytest.mark.browser


def _signed(live_server, tmp_path, flux, edit=None) -> tuple[Path, Path]:
    pki = Path(live_server.overrides["PORTAL_VAR_DIR"]) / "pki"
    xml = tmp_path / f"{flux.lower()}.xml"
    live_server.cli("edi", "exemple", flux, "--mode", "PRODUCTION", "-o", str(xml))
    if edit:
        xml.write_text(edit(xml.read_text(encoding="utf-8")), encoding="utf-8")
    live_server.cli("edi", "sign", str(xml), "--key", str(pki / "picardie-habitat.key"),
                    "--cert", str(pki / "picardie-habitat.pem"))
    return xml, Path(str(xml) + ".p7s")


def _upload(page, xml, p7s):
    page.goto("/edi/depot")
    page.set_input_files("#edi-fichier", str(xml))
    page.set_input_files("#edi-signature", str(p7s))
    page.get_by_test_id("edi-upload-submit").click()
    page.wait_for_url("**/edi/fichiers/*")
    assert "Fichier n°" in text(page.locator("main h1"))
    # The page polls the status (htmx) and reloads once processing is over.
    page.wait_for_selector("[data-testid='edi-status'][data-termine='oui']", timeout=90_000)
    page.wait_for_load_state()


def test_landlord_uploads_signed_files_and_reads_the_acknowledgment(new_page, live_server, live_worker, tmp_path):
    loyers = _signed(live_server, tmp_path, "LOYERS",
                     edit=lambda s: s.replace("<NumeroAllocataire>8000002</NumeroAllocataire>",
                                              "<NumeroAllocataire>8999999</NumeroAllocataire>", 1))
    impayes = _signed(live_server, tmp_path, "IMPAYES")
    page = new_page()
    sign_in(page, "operateur@picardie-habitat.example")

    _upload(page, *loyers)
    status = page.get_by_test_id("edi-status")
    assert status.get_attribute("data-statut") == "TRAITE_PARTIEL", text(page.locator("main"))
    assert int(text(page.get_by_test_id("edi-count-rejetes"))) == 1
    codes = page.get_by_test_id("edi-anomaly-code")
    assert codes.count() >= 1
    row = page.get_by_test_id("edi-anomaly-row").first
    code = row.get_attribute("data-code")
    assert code and code in text(row)
    assert_page_basics(page)
    with page.expect_download() as download:
        page.get_by_test_id("edi-download-accuse").click()
    accuse = Path(download.value.path()).read_text(encoding="utf-8")
    assert accuse.startswith("<?xml") and code in accuse  # every rejection reason is in the ACCUSE
    with page.expect_download() as download:
        page.get_by_test_id("edi-download-accuse-signature").click()
    assert Path(download.value.path()).stat().st_size > 100

    _upload(page, *impayes)
    assert page.get_by_test_id("edi-status").get_attribute("data-statut") in ("TRAITE", "TRAITE_PARTIEL")
    assert int(text(page.get_by_test_id("edi-count-appliques"))) >= 1
    assert_page_basics(page)
