"""portal.filetypes: an upload's type from its first bytes, checked against its extension."""
import io
import zipfile

import pytest

from portal.filetypes import Refused, identify


def _zip(entries: dict) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


XLSX = _zip({"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<workbook/>"})
ODS = _zip({"mimetype": "application/vnd.oasis.opendocument.spreadsheet", "content.xml": "<x/>"})


@pytest.mark.parametrize("name, data, mimetype", [
    ("compte.pdf", b"%PDF-1.7\n...", "application/pdf"),
    ("photo.PNG", b"\x89PNG\r\n\x1a\n....", "image/png"),
    ("scan.jpg", b"\xff\xd8\xff\xe0....", "image/jpeg"),
    ("budget.xlsx", XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("budget.ods", ODS, "application/vnd.oasis.opendocument.spreadsheet"),
    ("heures.csv", "mois;heures\njanvier;1 200\n".encode(), "text/csv"),
    ("heures-excel.csv", "mois;réalisé\n".encode("cp1252"), "text/csv"),
])
def test_accepted_types(name, data, mimetype):
    assert identify(name, data).mimetype == mimetype


@pytest.mark.parametrize("name, data, reason", [
    ("page.pdf", b"<html><script>alert(1)</script></html>", "ne correspond pas"),
    ("virus.exe", b"MZ\x90\x00", "non accepté"),
    ("sans-extension", b"%PDF-1.4", "non accepté"),
    ("image.png", b"\xff\xd8\xff\xe0", "ne correspond pas"),        # a JPEG named .png
    ("archive.xlsx", _zip({"a.txt": "x"}), "ne correspond pas"),     # a ZIP, not a workbook
    ("budget.ods", XLSX, "ne correspond pas"),
    ("binaire.csv", b"abc\x00def", "ne correspond pas"),
])
def test_refused(name, data, reason):
    with pytest.raises(Refused, match=reason):
        identify(name, data)
