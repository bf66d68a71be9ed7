"""Formats: schemas, streaming reader, writers (edi.formats)."""
from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from lxml import etree

from edi import formats
from edi.formats import columns, reader
from portal import xmlsafe
from edi.formats import (
    AccuseData,
    AvisPaiementData,
    DoublonDe,
    Envelope,
    FichierRecu,
    FileReason,
    FormatError,
    Paiement,
    RecordResult,
)
from schemas import EXAMPLES_DIR, SCHEMA_DIR

NS = "urn:caf:extranet:edi:loyers:1"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def loyers_xml(records: int = 3, count: int | None = None, ids=None, created="2026-11-23T10:00:00Z",
               extra_record: str = "", flux="LOYERS", loyer="48250") -> bytes:
    ids = ids or [f"L{i:05d}" for i in range(records)]
    body = "".join(
        f"<Loyer><Identifiant>{rid}</Identifiant><CodeLocataire>LOC{i:06d}</CodeLocataire>"
        f"<NumeroAllocataire>{8000000 + i}</NumeroAllocataire><LoyerCentimes>{loyer}</LoyerCentimes>"
        f"<ChargesCentimes>6500</ChargesCentimes><DateEffet>2026-07-01</DateEffet></Loyer>\n"
        for i, rid in enumerate(ids))
    return (f"""<?xml version="1.0" encoding="UTF-8"?>
<Loyers xmlns="{NS}">
<Enveloppe><Emetteur><Code>BL080001</Code><Siren>381568394</Siren></Emetteur>
<Destinataire><Code>CAF80</Code><Siren>534889877</Siren></Destinataire>
<Flux>{flux}</Flux><IdentifiantFichier>F-001</IdentifiantFichier><NumeroSequence>7</NumeroSequence>
<DateCreation>{created}</DateCreation><NombreEnregistrements>{len(ids) if count is None else count}</NombreEnregistrements>
<Mode>PRODUCTION</Mode><VersionSchema>1</VersionSchema></Enveloppe>
{body}{extra_record}</Loyers>
""").encode()


@pytest.fixture
def write(tmp_path):
    def _write(data: bytes, name="f.xml"):
        path = tmp_path / name
        path.write_bytes(data)
        return path
    return _write


def test_every_schema_compiles_offline_and_ships_as_package_data():
    names = {p.name for p in SCHEMA_DIR.glob("*.xsd")}
    assert {"commun-1.xsd", "loyers-1.xsd", "impayes-1.xsd", "mouvements-1.xsd", "accuse-1.xsd",
            "avis-paiement-1.xsd"} <= names
    for flow in formats.FLOWS:
        doc = etree.parse(str(formats.schema_path(flow)))
        for node in doc.iter("{http://www.w3.org/2001/XMLSchema}include",
                             "{http://www.w3.org/2001/XMLSchema}import"):
            location = node.get("schemaLocation")
            assert "://" not in location and (SCHEMA_DIR / location).exists()
        etree.XMLSchema(doc)
    import tomllib
    from pathlib import Path
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["schemas"]
    assert "**/*.xsd" in patterns and any(p.startswith("examples/") for p in patterns)


@pytest.mark.parametrize("flow", ["LOYERS", "IMPAYES", "MOUVEMENTS", "ACCUSE", "AVIS_PAIEMENT"])
def test_examples_are_valid_against_the_full_schema(flow):
    slug = formats.FLOWS[flow].slug
    example = EXAMPLES_DIR / f"{slug}-exemple.xml"
    schema = etree.XMLSchema(etree.parse(str(formats.schema_path(flow))))  # with xs:unique
    schema.assertValid(etree.parse(str(example)))
    report = formats.validate_file(example, now=formats.read_envelope(example).created_at)
    assert report.ok, report.errors
    assert report.records == report.envelope.record_count > 0


def test_reader_yields_envelope_then_typed_records(write):
    path = write(loyers_xml(3))
    items = list(formats.stream(path))
    env = items[0]
    assert isinstance(env, Envelope)
    assert (env.flow, env.sender_code, env.sender_siren, env.receiver_code, env.file_id, env.sequence,
            env.record_count, env.mode) == ("LOYERS", "BL080001", "381568394", "CAF80", "F-001", 7, 3,
                                            "PRODUCTION")
    assert env.created_at == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    first = items[1]
    assert first["identifiant"] == "L00000"
    assert first["loyer_cents"] == 48250 and isinstance(first["loyer_cents"], int)
    assert first["date_effet"] == date(2026, 7, 1)
    assert first["nb_colocataires"] is None and first["code_agence"] is None
    assert first["ligne"] == 8
    assert [r["identifiant"] for r in formats.iter_records(path, "LOYERS")] == ["L00000", "L00001", "L00002"]
    assert formats.read_envelope(path) == env


def test_example_records_of_each_inbound_flow_are_typed():
    impaye = next(formats.iter_records(EXAMPLES_DIR / "impayes-exemple.xml", "IMPAYES"))
    assert isinstance(impaye["montant_dette_cents"], int) and isinstance(impaye["plan_apurement"], bool)
    assert isinstance(impaye["date_constitution"], date)
    mouvement = next(formats.iter_records(EXAMPLES_DIR / "mouvements-exemple.xml", "MOUVEMENTS"))
    assert mouvement["type"] in ("ENTREE", "SORTIE") and isinstance(mouvement["date_mouvement"], date)


@pytest.mark.parametrize("flow", formats.INBOUND_FLOWS)
def test_positional_reading_of_complete_records_gives_the_same_records(flow):
    """A validated record with every element of its sequence is read by position (fast path);
    records missing an optional element by tag. Both give what the tag-by-tag reading gives."""
    slug = formats.FLOWS[flow].slug
    example = EXAMPLES_DIR / f"{slug}-exemple.xml"
    sequence = formats.record_sequence(flow)
    assert sequence[0] == "Identifiant" and len(sequence) == len(formats.RECORD_FIELDS[flow]) + 1
    by_tag = [r for r in formats.stream(example, flow, validate=False) if isinstance(r, dict)]
    fast = [r for r in formats.stream(example, flow) if isinstance(r, dict)]
    assert fast == by_tag and fast
    root = etree.parse(str(example), etree.XMLParser(remove_comments=True)).getroot()
    ns = formats.namespace(flow)
    counts = {len(rec) for rec in root.iter(f"{{{ns}}}{formats.FLOWS[flow].record}")}
    assert len(sequence) in counts  # the example exercises the fast path


@pytest.mark.parametrize("flow", formats.INBOUND_FLOWS)
def test_values_surrounded_by_whitespace_read_as_the_schema_collapses_them(flow, write):
    """The XSD collapses the whitespace around a number, a date or a boolean; both readings
    strip it (the positional one converts integers directly, `int` ignoring that whitespace),
    and blank text between elements (which the parser drops) changes nothing."""
    slug = formats.FLOWS[flow].slug
    example = EXAMPLES_DIR / f"{slug}-exemple.xml"
    expected = [r for r in formats.stream(example, flow) if isinstance(r, dict)]
    root = etree.parse(str(example), etree.XMLParser(remove_comments=True)).getroot()
    ns = formats.namespace(flow)
    collapsed = {f"{{{ns}}}{name}" for name, (_key, conv) in formats.RECORD_FIELDS[flow].items()
                 if conv is not str}  # numbers, dates, booleans (codes are patterned strings)
    for record in root.iter(f"{{{ns}}}{formats.FLOWS[flow].record}"):
        for child in record:
            if child.tag in collapsed:
                child.text = f"\n   {child.text}  \t"
    path = write(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    padded = [r for r in formats.stream(path, flow) if isinstance(r, dict)]
    by_tag = [r for r in formats.stream(path, flow, validate=False) if isinstance(r, dict)]
    strip_lines = lambda rs: [{k: v for k, v in r.items() if k != "ligne"} for r in rs]
    assert strip_lines(padded) == strip_lines(by_tag) == strip_lines(expected) and padded


def full_loyers_xml(records: int, *, ids=None, dates=None, sparse=()) -> bytes:
    """LOYERS records with every element of the sequence (the chunk-at-a-time reading), except
    the ranks in `sparse`, which lack their optional NombreColocataires."""
    ids = ids or [f"L{i:05d}" for i in range(records)]
    dates = dates or {}
    records_xml = "".join(
        f"<Loyer><Identifiant>{rid}</Identifiant><CodeAgence>AG{i % 7}</CodeAgence>"
        f"<CodeLocataire>LOC{i:06d}</CodeLocataire><NumeroAllocataire>{8000000 + i}</NumeroAllocataire>"
        f"<LoyerCentimes>{40000 + i}</LoyerCentimes><ChargesCentimes> {i % 90} </ChargesCentimes>"
        f"<DateEffet>{dates.get(i, '2026-07-01')}</DateEffet>"
        + ("" if i in sparse else f"<NombreColocataires>{1 + i % 3}</NombreColocataires>")
        + "</Loyer>\n"
        for i, rid in enumerate(ids))
    head, _sep, tail = loyers_xml(0, count=len(ids)).decode().rpartition("</Loyers>")
    return (head + records_xml + "</Loyers>" + tail).encode()


@pytest.fixture
def small_chunks(monkeypatch):
    """Feed the parser 1 KB at a time: a small file then spans many chunks."""
    monkeypatch.setattr(xmlsafe, "PROLOG_BYTES", 1024)
    monkeypatch.setattr(xmlsafe, "CHUNK_SIZE", 1024)


def test_records_read_a_chunk_at_a_time_are_the_records_read_one_by_one(write, small_chunks, monkeypatch):
    """Full records are read a whole chunk at a time (one XPath call); a chunk holding a record
    without its optional element is read record by record. Same dicts either way, lines
    included, and the records consumed before each chunk are released (flat memory)."""
    path = write(full_loyers_xml(600, sparse={5, 300}))
    sizes, chunked = [], []
    texts, read_columns = columns._CHILD_TEXTS, columns.read_columns
    monkeypatch.setattr(columns, "_CHILD_TEXTS", lambda node, n: sizes.append(len(node)) or texts(node, n=n))
    monkeypatch.setattr(reader, "read_columns",
                        lambda *a: chunked.append(read_columns(*a)) or chunked[-1])
    fast = [r for r in formats.stream(path) if isinstance(r, dict)]
    by_tag = [r for r in formats.stream(path, validate=False) if isinstance(r, dict)]
    assert fast == by_tag and len(fast) == 600
    assert fast[300]["nb_colocataires"] is None and fast[301]["nb_colocataires"] == 2
    assert fast[7]["charges_cents"] == 7 and fast[599]["ligne"] == 607
    read_by_chunk = [batch for batch in chunked if batch is not None]
    assert len(read_by_chunk) > 50 and None in chunked  # both ways were taken
    assert max(sizes) <= 6  # ≈ 4 records a 1 KB chunk, plus the one being parsed


def test_records_that_all_leave_out_an_optional_element_are_read_a_chunk_at_a_time(write, small_chunks, monkeypatch):
    """A landlord without agencies never sends CodeAgence: its chunks are still read at once,
    with the same dicts as the record-by-record reading; a chunk whose records leave out
    different optional elements (as many elements each) is read record by record."""
    xml = full_loyers_xml(300).decode()
    xml = re.sub(r"<CodeAgence>[^<]*</CodeAgence>", "", xml)
    path = write(xml.encode())
    chunked, read_columns = [], columns.read_columns
    monkeypatch.setattr(reader, "read_columns", lambda *a: chunked.append(read_columns(*a)) or chunked[-1])
    fast = [r for r in formats.stream(path) if isinstance(r, dict)]
    assert fast == [r for r in formats.stream(path, validate=False) if isinstance(r, dict)]
    assert len(fast) == 300 and fast[299]["code_agence"] is None and fast[299]["nb_colocataires"] == 3
    blocks = [b for b in chunked if b is not None]
    assert len(blocks) > 40 and all(b.column("code_agence") == [None] * len(b) for b in blocks)

    layouts = columns.Layouts("LOYERS", NS, formats.record_sequence("LOYERS"))
    mixed = full_loyers_xml(4, sparse={1, 3}).decode()  # 1 and 3 without NombreColocataires
    mixed = re.sub(r"(<Identifiant>L0000[02]</Identifiant>)<CodeAgence>[^<]*</CodeAgence>", r"\1", mixed)
    root = etree.fromstring(mixed.encode(), etree.XMLParser(remove_blank_text=True))
    records = root.findall(f"{{{NS}}}Loyer")
    xmlsafe.release_consumed(records[0])
    assert {len(r) for r in records} == {7}
    assert columns.read_columns(records, layouts.of(records[0])) is None
    assert columns.read_columns(records[:1], layouts.of(records[0])) is not None


def test_a_chunk_whose_values_do_not_convert_is_left_to_the_record_by_record_reading():
    """The XSD leaves no such value today; if one came through (2026-07-01Z is an xs:date,
    not an ISO date), the chunk is read record by record, which reports its line."""
    layouts = columns.Layouts("LOYERS", NS, formats.record_sequence("LOYERS"))
    empty = {key: None for key, _conv in formats.RECORD_FIELDS["LOYERS"].values()}

    def batch(xml: bytes) -> list:
        root = etree.fromstring(xml, etree.XMLParser(remove_blank_text=True))
        records = root.findall(f"{{{NS}}}Loyer")
        xmlsafe.release_consumed(records[0])  # the envelope, as the reader does before a chunk
        return records

    records = batch(full_loyers_xml(3))
    block = columns.read_columns(records, layouts.of(records[0]))
    assert len(block) == 3 and block.column("date_effet") == [date(2026, 7, 1)] * 3
    good = block.records()
    assert good[2] == {**empty, "identifiant": "L00002", "code_agence": "AG2", "code_locataire": "LOC000002",
                       "numero_allocataire": "8000002", "loyer_cents": 40002, "charges_cents": 2,
                       "date_effet": date(2026, 7, 1), "nb_colocataires": 3, "ligne": 10}
    bad = batch(full_loyers_xml(3, dates={1: "2026-07-01Z"}))
    assert columns.read_columns(bad, layouts.of(bad[0])) is None


def test_duplicate_record_id_across_chunks_is_refused_with_its_line(write, small_chunks):
    ids = [f"L{i:05d}" for i in range(200)]
    ids[180] = ids[20]
    with pytest.raises(FormatError) as exc:
        list(formats.iter_records(write(full_loyers_xml(200, ids=ids))))
    assert exc.value.code == "IDENTIFIANT_DUPLIQUE" and exc.value.line == 188


def test_a_schema_error_without_a_line_says_after_which_line_it_lies(write, small_chunks):
    """libxml2's streaming validator gives schema errors no line: the reader says the fault lies
    after the last element read (which may be a chunk before it), never that line itself."""
    path = write(full_loyers_xml(200, dates={150: "2026-13-01"}))  # the record of line 158
    with pytest.raises(FormatError) as exc:
        list(formats.iter_records(path))
    assert exc.value.code == "NON_CONFORME_SCHEMA" and exc.value.line is None
    after = int(exc.value.message.rsplit("(après la ligne ", 1)[1].rstrip(")"))
    assert 150 <= after < 158


def test_wrong_flow_expected_is_refused(write):
    path = write(loyers_xml(1))
    with pytest.raises(FormatError) as exc:
        list(formats.iter_records(path, "IMPAYES"))
    assert exc.value.code == "FLUX_INATTENDU"


def test_envelope_flux_must_match_namespace(write):
    with pytest.raises(FormatError) as exc:
        formats.read_envelope(write(loyers_xml(1, flux="IMPAYES")))
    assert exc.value.code == "ENVELOPPE_INCOHERENTE"


def test_duplicate_record_id_is_refused_with_its_line(write):
    path = write(loyers_xml(ids=["A", "B", "A"]))
    with pytest.raises(FormatError) as exc:
        list(formats.iter_records(path))
    assert exc.value.code == "IDENTIFIANT_DUPLIQUE" and exc.value.line == 10
    # the XSD itself also declares the uniqueness (xs:unique) for vendors validating offline
    schema = etree.XMLSchema(etree.parse(str(formats.schema_path("LOYERS"))))
    assert not schema.validate(etree.parse(str(path)))


def test_record_count_must_match_envelope(write):
    with pytest.raises(FormatError) as exc:
        list(formats.iter_records(write(loyers_xml(3, count=4))))
    assert exc.value.code == "NOMBRE_ENREGISTREMENTS_INCORRECT"


@pytest.mark.parametrize("bad, fragment", [
    ("loyer", "-5"), ("loyer", "12.50"), ("loyer", "999999999999999"), ("loyer", "abc"),
])
def test_amounts_are_bounded_integer_cents(write, bad, fragment):
    with pytest.raises(FormatError) as exc:
        list(formats.iter_records(write(loyers_xml(2, loyer=fragment))))
    assert exc.value.code == "NON_CONFORME_SCHEMA"
    assert fragment not in exc.value.message  # value not echoed


@pytest.mark.parametrize("created", ["2026-11-23T10:00:00", "2026-11-23T10:00:00+01:00", "23/11/2026"])
def test_creation_time_must_be_utc_iso8601(write, created):
    with pytest.raises(FormatError) as exc:
        list(formats.iter_records(write(loyers_xml(1, created=created))))
    assert exc.value.code == "NON_CONFORME_SCHEMA"


def test_schema_error_raised_early_not_only_at_end(write):
    """A type error near the start is raised long before the end of a big file."""
    good = loyers_xml(20000)
    bad = good.replace(b"<LoyerCentimes>48250</LoyerCentimes>", b"<LoyerCentimes>x</LoyerCentimes>", 1)
    seen = 0
    with pytest.raises(FormatError):
        for _ in formats.iter_records(write(bad)):
            seen += 1
    assert seen < 5000


def test_error_at_end_is_raised_after_the_records_were_yielded(write):
    """Documented contract: the consumer stages, the error may only come at the end."""
    data = loyers_xml(3, extra_record="<Intrus/>")
    seen = []
    with pytest.raises(FormatError) as exc:
        for record in formats.iter_records(write(data)):
            seen.append(record)
    assert exc.value.code == "NON_CONFORME_SCHEMA"
    assert "Intrus" not in exc.value.message


def test_check_envelope_creation_window():
    env = formats.read_envelope(EXAMPLES_DIR / "loyers-exemple.xml")
    assert formats.check_envelope(env, env.created_at + timedelta(days=1)) == []
    assert [e.code for e in formats.check_envelope(env, env.created_at - timedelta(hours=1))] == \
        ["DATE_CREATION_FUTURE"]
    assert [e.code for e in formats.check_envelope(env, env.created_at + timedelta(days=90))] == \
        ["DATE_CREATION_ANCIENNE"]


def test_validate_file_collects_reasons(write):
    report = formats.validate_file(write(loyers_xml(2, count=5)), now=NOW)
    assert not report.ok
    assert [e.code for e in report.errors] == ["NOMBRE_ENREGISTREMENTS_INCORRECT"]


# ----------------------------------------------------------------------------- writers

def _caf_envelope(flow, count, file_id="ACC-F-001"):
    return Envelope(flow=flow, sender_code="CAF80", sender_siren="534889877", receiver_code="BL080001",
                    receiver_siren="381568394", file_id=file_id, sequence=1,
                    created_at=datetime(2026, 11, 23, 12, 0, 5, tzinfo=UTC), record_count=count,
                    mode="PRODUCTION")


def _accuse(results, status="ACCEPTE_PARTIELLEMENT", **extra):
    return AccuseData(
        envelope=_caf_envelope("ACCUSE", len(results)),
        received=FichierRecu(sender_code="BL080001", sender_siren="381568394", sha256="ab" * 32,
                             size=1234, received_at=datetime(2026, 11, 23, 12, 0, 0), flow="LOYERS",
                             file_id="F-001", sequence=7, mode="PRODUCTION"),
        status=status, records_total=3, records_accepted=2, records_rejected=1, records_warning=1,
        results=results, **extra)


def test_accuse_is_schema_valid_complete_and_deterministic(tmp_path):
    long_label = "Allocataire inconnu : " + "détail " * 400  # never truncated
    results = [RecordResult("L00001", "ALLOCATAIRE_INCONNU", long_label, "ERREUR", line=12),
               RecordResult("L00002", "IMPAYE_SIGNALE_TARDIVEMENT", "Signalé tard & <tard>", "AVERTISSEMENT")]
    reasons = [FileReason("DATE_CREATION_ANCIENNE", "Trop ancien")]
    one, two = io.BytesIO(), io.BytesIO()
    formats.write_accuse(one, _accuse(results, file_reasons=reasons))
    formats.write_accuse(two, _accuse(list(results), file_reasons=list(reasons)))
    assert one.getvalue() == two.getvalue()
    path = tmp_path / "accuse.xml"
    path.write_bytes(one.getvalue())
    schema = etree.XMLSchema(etree.parse(str(formats.schema_path("ACCUSE"))))
    doc = etree.parse(str(path))
    schema.assertValid(doc)
    ns = {"a": "urn:caf:extranet:edi:accuse:1"}
    assert doc.xpath("string(/a:Accuse/a:Statut/a:Libelle)", namespaces=ns) == "accepté partiellement"
    assert doc.xpath("string(/a:Accuse/a:FichierRecu/a:Empreinte)", namespaces=ns) == "ab" * 32
    assert doc.xpath("string(/a:Accuse/a:FichierRecu/a:DateReception)", namespaces=ns) == "2026-11-23T12:00:00Z"
    labels = doc.xpath("/a:Accuse/a:Resultat/a:Libelle/text()", namespaces=ns)
    assert labels == [long_label, "Signalé tard & <tard>"]
    records = list(formats.iter_records(path, "ACCUSE"))
    assert [(r["identifiant"], r["code"], r["gravite"]) for r in records] == [
        ("L00001", "ALLOCATAIRE_INCONNU", "ERREUR"), ("L00002", "IMPAYE_SIGNALE_TARDIVEMENT", "AVERTISSEMENT")]


def test_accuse_doublon_and_streamed_results(tmp_path):
    def gen():
        for i in range(3):
            yield RecordResult(f"R{i}", "ENREGISTREMENT_ACCEPTE", "ok", "INFORMATION")
    data = _accuse([], status="DOUBLON",
                   duplicate_of=DoublonDe(sha256="cd" * 32, received_at=datetime(2026, 11, 1), file_id="F-001"))
    data.results = gen()
    data.envelope = _caf_envelope("ACCUSE", 3)
    path = tmp_path / "a.xml"
    formats.write_accuse(path, data)
    etree.XMLSchema(etree.parse(str(formats.schema_path("ACCUSE")))).assertValid(etree.parse(str(path)))
    assert b"<DoublonDe>" in path.read_bytes()


def test_accuse_count_mismatch_is_an_error():
    data = _accuse([RecordResult("R1", "ENREGISTREMENT_ACCEPTE", "ok", "INFORMATION")])
    data.envelope = _caf_envelope("ACCUSE", 2)
    with pytest.raises(ValueError):
        formats.write_accuse(io.BytesIO(), data)


def test_avis_paiement_totals_and_validity(tmp_path):
    payments = [Paiement(f"P{i}", f"LOC{i:06d}", f"{8000000 + i}", "Dupont Marie", "APL", 25000 + i,
                         date(2026, 11, 25)) for i in range(4)]
    avis = AvisPaiementData(envelope=_caf_envelope("AVIS_PAIEMENT", 4, "AVIS-2026-11"), year=2026, month=11,
                            payments=payments)
    path = tmp_path / "avis.xml"
    formats.write_avis_paiement(path, avis)
    again = io.BytesIO()
    formats.write_avis_paiement(again, AvisPaiementData(avis.envelope, 2026, 11, iter(payments)))
    assert again.getvalue() == path.read_bytes()
    etree.XMLSchema(etree.parse(str(formats.schema_path("AVIS_PAIEMENT")))).assertValid(etree.parse(str(path)))
    ns = {"a": "urn:caf:extranet:edi:avis-paiement:1"}
    doc = etree.parse(str(path))
    assert doc.xpath("number(/a:AvisPaiement/a:Total/a:MontantCentimes)", namespaces=ns) == 100006
    records = list(formats.iter_records(path, "AVIS_PAIEMENT"))
    assert records[0]["montant_cents"] == 25000 and records[0]["date_paiement"] == date(2026, 11, 25)


def test_readme_lists_exactly_the_codes_an_accuse_can_carry():
    """The vendors' specification publishes every code the platform emits, and no other: the
    readers' format codes, the signature codes and the business rules' codes."""
    import re

    from edi import rules
    from portal.crypto.signature import SIGNATURE_CODES
    readme = (SCHEMA_DIR / "README.md").read_text()
    tables = readme[readme.index("### Codes de rejet du fichier"):readme.index("### AVIS_PAIEMENT")]
    published = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", tables, flags=re.MULTILINE))
    assert published == {*formats.FILE_ERROR_CODES, *SIGNATURE_CODES, *rules.CODES}
    for statut in formats.FILE_STATUSES:
        assert f"| `{statut}` |" in readme, statut


def test_examples_use_the_cdap_demo_tenants_of_picardie_habitat():
    from cdap.demo import PICARDIE_HABITAT, demo_records, demo_tenants
    tenants = {(t["code_locataire"], t["numero_allocataire"]) for t in demo_tenants()}
    known = {r["numero"] for r in demo_records()}
    for flow in ("LOYERS", "IMPAYES", "MOUVEMENTS"):
        path = EXAMPLES_DIR / f"{formats.FLOWS[flow].slug}-exemple.xml"
        assert formats.read_envelope(path).sender_code == PICARDIE_HABITAT
        for record in formats.iter_records(path, flow):
            assert record["numero_allocataire"] in known
            if record.get("type") != "ENTREE":
                assert (record["code_locataire"], record["numero_allocataire"]) in tenants, record
