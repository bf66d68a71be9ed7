"""Landlord operator journey with a real Celery worker: uploads a signed LOYERS file (one record
names an unknown allocataire) and a signed IMPAYES file, watches processing finish, reads the
per-record errors and downloads the signed acknowledgment."""
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.browser import assert_page_basics, screenshot, sign_in, text

pytestmark = pytest.mark.browser


def _signed(live_server, tmp_path, flux, edit=None) -> tuple[Path, Path]:
    pki = Path(live_server.overrides["PORTAL_VAR_DIR"]) / "pki"
    xml = tmp_path / f"{flux.lower()}.xml"
    live_server.cli("edi", "example", flux, "--mode", "PRODUCTION", "-o", str(xml))
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
    # The accusé also as a PDF people read, and its records as a CSV.
    with page.expect_download() as download:
        page.get_by_test_id("edi-download-accuse-pdf").click()
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")
    with page.expect_download() as download:
        page.get_by_test_id("edi-download-accuse-csv").click()
    assert code in Path(download.value.path()).read_text(encoding="utf-8-sig")

    _upload(page, *impayes)
    assert page.get_by_test_id("edi-status").get_attribute("data-statut") in ("TRAITE", "TRAITE_PARTIEL")
    assert int(text(page.get_by_test_id("edi-count-appliques"))) >= 1
    assert_page_basics(page)


def _rejected(page, reason: str):
    """The file page of a rejected file: the reason first, the bar in the DSFR error colour."""
    expect(page.get_by_test_id("edi-status")).to_have_attribute("data-statut", "REJETE")
    alert = page.get_by_test_id("edi-rejet")
    assert reason in text(alert), text(alert)
    top = page.evaluate("() => [document.querySelector('[data-testid=edi-rejet]').getBoundingClientRect().top,"
                        " document.querySelector('[data-testid=edi-status]').getBoundingClientRect().top]")
    assert top[0] < top[1]
    bar = page.get_by_test_id("edi-progress")
    assert bar.evaluate("e => getComputedStyle(e).accentColor") == "rgb(206, 5, 0)"
    assert_page_basics(page)


def test_operator_is_told_which_signature_problem_it_is(new_page, live_server, live_worker, tmp_path):
    (tmp_path / "a").mkdir()
    first = _signed(live_server, tmp_path / "a", "LOYERS")
    page = new_page()
    sign_in(page, "operateur@picardie-habitat.example")
    _upload(page, *first)
    first_id = page.url.rstrip("/").rsplit("/", 1)[1]
    # A file changed after it was signed.
    (tmp_path / "b").mkdir()
    xml, p7s = _signed(live_server, tmp_path / "b", "LOYERS")
    xml.write_text(xml.read_text(encoding="utf-8").replace("61000", "61001", 1) + "\n", encoding="utf-8")
    _upload(page, xml, p7s)
    _rejected(page, "Fichier modifié après signature")
    screenshot(page, "edi-fichier-rejete")
    # Another file sent with the first file's signature.
    _upload(page, xml, first[1])
    _rejected(page, "La signature ne correspond pas à ce fichier")
    assert f"fichier n° {first_id}" in text(page.get_by_test_id("edi-rejet"))
