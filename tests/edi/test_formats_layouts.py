"""The same LOYERS records, laid out in every way the schema accepts, read the same: by the
chunk-at-a-time reading (`formats.RecordColumns`), record by record, and without the schema.
A table of layouts (indented, compact, CRLF, tabs, whitespace around values, CDATA, character
references, comments and processing instructions inside records, a prefixed namespace, the
namespace declared again on each record), each read with the production chunk size and with
1 KB chunks (records then straddle chunks)."""
from __future__ import annotations

from datetime import date

import pytest

from edi import formats
from portal import xmlsafe

NS = "urn:caf:extranet:edi:loyers:1"
N = 40
FIELDS = ("Identifiant", "CodeAgence", "CodeLocataire", "NumeroAllocataire", "LoyerCentimes",
          "ChargesCentimes", "DateEffet", "NombreColocataires")


def values(i: int) -> dict[str, str]:
    return {"Identifiant": f"LOY-2026-07-{i:05d}", "CodeAgence": f"AG-{i % 3}", "CodeLocataire": f"LOC{i:06d}",
            "NumeroAllocataire": f"{8000000 + i}", "LoyerCentimes": str(40000 + i),
            "ChargesCentimes": str(i % 90), "DateEffet": f"2026-07-{1 + i % 28:02d}",
            "NombreColocataires": str(1 + i % 3)}


EXPECTED = [{"identifiant": f"LOY-2026-07-{i:05d}", "code_agence": f"AG-{i % 3}",
             "code_locataire": f"LOC{i:06d}", "numero_allocataire": f"{8000000 + i}",
             "loyer_cents": 40000 + i, "charges_cents": i % 90, "date_effet": date(2026, 7, 1 + i % 28),
             "nb_colocataires": 1 + i % 3} for i in range(N)]

NUMERIC = {"LoyerCentimes", "ChargesCentimes", "NombreColocataires"}  # xs:int: whitespace collapsed


def cdata(name, value):
    return f"<![CDATA[{value}]]>"


def charrefs(name, value):
    return "".join(f"&#{ord(c)};" for c in value) if name in NUMERIC | {"DateEffet"} else value


def split_by_comment(name, value):
    return f"{value[:2]}<!-- note -->{value[2:]}" if len(value) > 2 else value


def spaced(name, value):
    return f"\n\t  {value} \r\n" if name in NUMERIC else value


LAYOUTS = {
    # (prefix, text of a value, between elements, after a record, record attributes)
    "compact": ("", None, "", "\n", ""),
    "indente": ("", None, "\n    ", "\n  ", ""),
    "crlf_tabs": ("", None, "\r\n\t\t", "\r\n\t", ""),
    "sans_retour_ligne": ("", None, "", "", ""),
    "espaces_autour_des_nombres": ("", spaced, " ", "\n", ""),
    "cdata": ("", cdata, "", "\n", ""),
    "references_de_caracteres": ("", charrefs, "", "\n", ""),
    "commentaire_dans_une_valeur": ("", split_by_comment, "<!-- c -->", "<?pi x?>\n", ""),
    "prefixe": ("l:", None, "\n", "\n", ""),
    "espace_de_noms_redeclare": ("", None, "", "\n", f' xmlns="{NS}"'),
}


def layout_xml(layout: str) -> bytes:
    prefix, text, sep, after, attributes = LAYOUTS[layout]
    records = []
    for i in range(N):
        children = sep.join(f"<{prefix}{name}>{text(name, v) if text else v}</{prefix}{name}>"
                            for name, v in values(i).items())
        records.append(f"<{prefix}Loyer{attributes}>{sep}{children}{sep}</{prefix}Loyer>{after}")
    declaration = f'xmlns:l="{NS}"' if prefix else f'xmlns="{NS}"'
    p = prefix
    envelope = (f"<{p}Enveloppe><{p}Emetteur><{p}Code>BL080001</{p}Code><{p}Siren>381568394</{p}Siren></{p}Emetteur>"
                f"<{p}Destinataire><{p}Code>CAF80</{p}Code><{p}Siren>534889877</{p}Siren></{p}Destinataire>"
                f"<{p}Flux>LOYERS</{p}Flux><{p}IdentifiantFichier>F-001</{p}IdentifiantFichier>"
                f"<{p}NumeroSequence>7</{p}NumeroSequence><{p}DateCreation>2026-11-23T10:00:00Z</{p}DateCreation>"
                f"<{p}NombreEnregistrements>{N}</{p}NombreEnregistrements><{p}Mode>PRODUCTION</{p}Mode>"
                f"<{p}VersionSchema>1</{p}VersionSchema></{p}Enveloppe>")
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<{p}Loyers {declaration}>{after}{envelope}{after}'
            + "".join(records) + f"</{p}Loyers>\n").encode()


def without_lines(records):
    return [{k: v for k, v in r.items() if k != "ligne"} for r in records]


def read_all_ways(path) -> dict[str, list[dict]]:
    columns = []
    for item in formats.stream(path, columns=True, unique_ids=False):
        if isinstance(item, formats.RecordColumns):
            columns += item.records()
        elif isinstance(item, dict):
            columns.append(item)
    return {
        "par_blocs": columns,
        "un_par_un": [r for r in formats.stream(path) if isinstance(r, dict)],
        "sans_schema": [r for r in formats.stream(path, validate=False) if isinstance(r, dict)],
    }


@pytest.mark.parametrize("chunk", [xmlsafe.CHUNK_SIZE, 1024])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_layout_reads_the_same_records(layout, chunk, tmp_path, monkeypatch):
    monkeypatch.setattr(xmlsafe, "CHUNK_SIZE", chunk)
    monkeypatch.setattr(xmlsafe, "PROLOG_BYTES", min(chunk, xmlsafe.PROLOG_BYTES))
    path = tmp_path / f"{layout}.xml"
    path.write_bytes(layout_xml(layout))
    assert formats.validate_file(path, freshness_as_warning=True).ok
    read = read_all_ways(path)
    for way, records in read.items():
        assert without_lines(records) == EXPECTED, (layout, way)
    # Each record's line is where its element starts, whichever way it was read.
    assert read["par_blocs"] == read["un_par_un"]


def test_the_bulk_reading_takes_the_chunk_path_on_both_bench_layouts(tmp_path, monkeypatch):
    """The indented and the compact layout are both read a chunk at a time (the indentation is
    not kept as text nodes), not record by record: the chunks after the envelope's."""
    from edi.formats import reader
    monkeypatch.setattr(xmlsafe, "CHUNK_SIZE", 1024)
    monkeypatch.setattr(xmlsafe, "PROLOG_BYTES", 1024)
    calls = []
    read_columns = reader.read_columns
    monkeypatch.setattr(reader, "read_columns", lambda *a: calls.append(read_columns(*a)) or calls[-1])
    for layout in ("compact", "indente"):
        calls.clear()
        path = tmp_path / f"{layout}.xml"
        path.write_bytes(layout_xml(layout))
        blocks = [b for b in formats.stream(path, columns=True, unique_ids=False)
                  if isinstance(b, formats.RecordColumns)]
        assert len(calls) > 5 and None not in calls, layout
        assert sum(map(len, blocks)) > N / 2, layout
