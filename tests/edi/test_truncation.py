"""A truncated document is never accepted, whatever the lxml build (issue #16).

lxml 6.2's validating pull parser neither raises on a premature end nor withholds the end event
of the unclosed root when it is closed: completeness is established from the bytes
(``portal.xmlsafe.document_end_error``). These tests cut documents at many offsets and check
that every cut is refused with ``XML_MALFORME`` by each layer and each way in (reader, CLI,
upload form, API), with nothing applied.
"""
from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from edi import formats
from portal import xmlsafe
from edi.models import EdiEnregistrement, EdiFichier
from portal.extensions import db
from schemas import EXAMPLES_DIR

from tests.support.edi_files import build_xml, multipart

EXAMPLES = sorted(EXAMPLES_DIR.glob("*.xml"))
_CLOSING = re.compile(rb"</[^>]*>")


def document_end(data: bytes) -> int:
    """Offset just after the root's end tag (what follows is only whitespace)."""
    return data.rindex(b">", 0, len(data.rstrip())) + 1


def closing_tag_offsets(data: bytes, last: int | None = None) -> set[int]:
    """Every offset inside or just before each closing tag (of the last `last` ones)."""
    tags = list(_CLOSING.finditer(data))
    out = set()
    for match in tags[-last:] if last else tags:
        out.update(range(match.start() - 1, match.end()))
    return out


def expected_code(cut: bytes) -> str:
    return "FICHIER_VIDE" if not cut else "XML_MALFORME"


# --------------------------------------------------------------------------- pure byte check

@pytest.mark.parametrize("tail, ok", [
    (b"<a:Loyers/>", True),
    (b"</Loyer></Loyers>", True),
    (b"</Loyers >\n  <!-- fin -->\n<?pi x?>\r\n", True),
    (b"</Loyer>", False),
    (b"</Loyers", False),
    (b"</Loyers><!-- non ferm", False),
    (b"<![CDATA[ </Loyers>", False),  # the bytes end like a root, the parser knows better
    (b"</Loyers><Loyer/>", False),
    (b"</Loyers>texte", False),
])
def test_document_end_is_read_from_the_last_bytes(tail, ok):
    reason = xmlsafe.document_end_error(tail, "Loyers")
    if tail.startswith(b"<![CDATA["):
        assert reason is None  # only the parser's own end event, checked below, refuses it
    else:
        assert (reason is None) is ok, reason


def test_prefix_of_the_root_must_match_when_known():
    assert xmlsafe.document_end_error(b"</l:Loyers>", "Loyers", "l") is None
    assert xmlsafe.document_end_error(b"</x:Loyers>", "Loyers", "l")
    assert xmlsafe.document_end_error(b"</Loyers>", "Loyers", "l")


# --------------------------------------------------------------------------- the reader

@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_cut_of_a_shipped_example_is_refused(tmp_path, example):
    """Every offset: the validation (what `portal edi validate` runs) refuses each cut with
    XML_MALFORME; only the cuts that keep the root's end tag are valid documents."""
    data = example.read_bytes()
    created = formats.read_envelope(example).created_at
    end = document_end(data)
    path = tmp_path / "cut.xml"
    for k in range(len(data)):
        path.write_bytes(data[:k])
        report = formats.validate_file(path, now=created)
        codes = [e.code for e in report.errors]
        if k >= end:
            assert codes == [], (k, codes)
        else:
            assert codes == [expected_code(data[:k])], (k, data[max(0, k - 40):k], codes)


def _stream_all(path, root):
    for _batch in xmlsafe.stream_element_batches(path, ("{*}Enveloppe",), None, root=root):
        pass


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_the_streaming_reader_alone_refuses_every_cut_after_the_root_starts(tmp_path, example):
    """The second layer on its own (no up-front tail check): the root must end while the bytes
    are fed, and the last bytes consumed must close it."""
    data = example.read_bytes()
    root = xmlsafe.root_tag(example)
    start = data.index(b">", data.index(b"<" + root.rpartition("}")[2].encode())) + 1
    path = tmp_path / "cut.xml"
    for k in range(start, document_end(data)):
        path.write_bytes(data[:k])
        with pytest.raises(xmlsafe.FormatError) as caught:
            _stream_all(path, root)
        assert caught.value.code == "XML_MALFORME", (k, caught.value)
    path.write_bytes(data.replace(data[data.rindex(b"</"):document_end(data)],
                                  b"<![CDATA[ " + data[data.rindex(b"</"):document_end(data)]))
    with pytest.raises(xmlsafe.FormatError) as caught:
        _stream_all(path, root)
    assert caught.value.code == "XML_MALFORME"


@pytest.fixture(scope="module")
def large_file():
    """A generated LOYERS file of 5,000 records."""
    class Org:
        code_bailleur, siret = "BL080001", "12345678900011"
    records = [{"identifiant": f"L{i}", "code_agence": "AG1", "code_locataire": f"LOC{i:06d}",
                "numero_allocataire": f"{7000000 + i}", "loyer_cents": 50000 + i,
                "charges_cents": 8000, "date_effet": date(2026, 7, 1), "nb_colocataires": 1}
               for i in range(5000)]
    return build_xml("LOYERS", Org, records)


def large_offsets(data: bytes) -> list[int]:
    spread = set(range(0, len(data), len(data) // 300))
    every = spread | closing_tag_offsets(data, last=3) | closing_tag_offsets(data[:2000])
    return sorted(k for k in every if k < document_end(data))


def test_cuts_of_a_large_generated_file_are_refused(tmp_path, large_file):
    path = tmp_path / "large.xml"
    path.write_bytes(large_file)
    assert formats.validate_file(path).ok
    root = xmlsafe.root_tag(path)
    offsets = large_offsets(large_file)
    assert len(offsets) > 300
    for k in offsets:
        path.write_bytes(large_file[:k])
        report = formats.validate_file(path)
        assert [e.code for e in report.errors] == [expected_code(large_file[:k])], k
    for k in offsets[-40:] + offsets[len(offsets) // 2:len(offsets) // 2 + 5]:
        path.write_bytes(large_file[:k])
        with pytest.raises(xmlsafe.FormatError) as caught:
            _stream_all(path, root)
        assert caught.value.code == "XML_MALFORME", k


# --------------------------------------------------------------------------- the CLI

@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_validation_cli_refuses_cuts(app, tmp_path, example):
    data = example.read_bytes()
    runner = app.test_cli_runner()
    path = tmp_path / "cut.xml"
    offsets = sorted(closing_tag_offsets(data) | set(range(1, len(data), 11)))
    for k in (k for k in offsets if k < document_end(data)):
        path.write_bytes(data[:k])
        result = runner.invoke(args=["edi", "validate", str(path)])
        assert result.exit_code == 1 and "XML_MALFORME" in result.output, (k, result.output)
    path.write_bytes(data)
    assert runner.invoke(args=["edi", "validate", str(path)]).exit_code == 0


# --------------------------------------------------------------------------- upload and API

def _cut_offsets(data: bytes) -> list[int]:
    end = document_end(data)
    return sorted(k for k in closing_tag_offsets(data, last=4) | set(range(200, end, end // 12))
                  if 0 < k < end)


def _nothing_applied(ids, tenants):
    from tests.edi.test_pipeline import cdap_rent
    for fid in ids:
        f = db.session.get(EdiFichier, fid)
        assert f.statut == "REJETE" and [m["code"] for m in f.motifs] == ["XML_MALFORME"], \
            (f.id, f.statut, f.motifs)
        assert f.nb_appliques == 0
    assert db.session.scalar(select(func.count()).select_from(EdiEnregistrement)) == 0
    assert [cdap_rent(t) for t in tenants] == [50000, 50000, 50000]


def _loyers(landlord, tenants, n_copies=1):
    records = [{"identifiant": f"L{i}-{j}", "code_agence": "AG1", "code_locataire": t["code_locataire"],
                "numero_allocataire": t["numero_allocataire"], "loyer_cents": 61000,
                "charges_cents": 9000, "date_effet": date.today().replace(day=1),
                "nb_colocataires": 1}
               for j in range(n_copies) for i, t in enumerate(tenants)]
    return build_xml("LOYERS", landlord, records, created_at=datetime.now(UTC))


def test_api_refuses_every_cut_and_applies_nothing(api_client, edi_token, landlord, signer,
                                                   tenants, run_jobs):
    api = api_client(edi_token)
    data = _loyers(landlord, tenants, n_copies=2)
    ids = []
    for k in _cut_offsets(data):
        cut = data[:k]
        response = api.post("/api/v1/edi/fichiers", data=multipart(cut, signer.sign(cut), f"c{k}.xml"),
                            content_type="multipart/form-data")
        assert response.status_code == 202, response.get_json()
        ids.append(response.get_json()["id"])
    assert set(run_jobs()) == {"done"}
    _nothing_applied(ids, tenants)
    for fid in ids[:3]:
        status = api.get(f"/api/v1/edi/fichiers/{fid}").get_json()
        assert status["statut"] == "REJETE" and status["motifs"][0]["code"] == "XML_MALFORME"


def test_upload_form_refuses_every_cut_and_applies_nothing(client, login, operator, landlord,
                                                          signer, tenants, run_jobs):
    from tests.support.factories import csrf_token
    login(operator)
    data = _loyers(landlord, tenants)
    ids = []
    for k in _cut_offsets(data):
        cut = data[:k]
        form = multipart(cut, signer.sign(cut), f"c{k}.xml")
        form["csrf_token"] = csrf_token(client, "/edi/depot")
        response = client.post("/edi/depot", data=form, content_type="multipart/form-data")
        assert response.status_code == 303, response.get_data(as_text=True)[:300]
        ids.append(int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1]))
    assert set(run_jobs()) == {"done"}
    _nothing_applied(ids, tenants)
