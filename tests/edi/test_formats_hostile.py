"""Hostile input for the parser: rejected fast, with a code, nothing echoed, no network."""
from __future__ import annotations

import time

import pytest

from edi import formats
from edi.formats import FormatError
from portal.xmlsafe import PARSER_OPTIONS, check_prolog, stream_elements

SECRET = "CONTENU-SECRET-42"
NS = "urn:caf:extranet:edi:loyers:1"


@pytest.fixture
def write(tmp_path):
    def _write(data, name="f.xml"):
        path = tmp_path / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
        return path
    return _write


def reject(path, flow="LOYERS") -> FormatError:
    start = time.perf_counter()
    with pytest.raises(FormatError) as exc:
        list(formats.iter_records(path, flow, max_bytes=1024 * 1024))
    assert time.perf_counter() - start < 5  # generous: "fast" means no expansion, no blow-up
    assert SECRET not in exc.value.message and "root:" not in exc.value.message
    return exc.value


def test_xxe_local_file_is_refused_and_not_read(write, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    path = write(f"""<?xml version="1.0"?>
<!DOCTYPE Loyers [<!ENTITY xxe SYSTEM "file://{secret}">]>
<Loyers xmlns="{NS}"><Enveloppe>&xxe;</Enveloppe></Loyers>""")
    assert reject(path).code == "DOCTYPE_INTERDIT"


def test_xxe_network_entity_refused_without_any_request(write, http_probe):
    url, hits = http_probe
    path = write(f"""<?xml version="1.0"?>
<!DOCTYPE Loyers [<!ENTITY % remote SYSTEM "{url}/evil.dtd"> %remote; <!ENTITY net SYSTEM "{url}/x">]>
<Loyers xmlns="{NS}">&net;</Loyers>""")
    assert reject(path).code == "DOCTYPE_INTERDIT"
    external_dtd = write(f"""<?xml version="1.0"?><!DOCTYPE Loyers SYSTEM "{url}/ext.dtd"><Loyers xmlns="{NS}"/>""",
                         "ext.xml")
    assert reject(external_dtd).code == "DOCTYPE_INTERDIT"
    assert hits == []


def test_parser_options_alone_do_not_resolve_entities_nor_fetch(tmp_path, http_probe):
    """Defence in depth: even past the prolog check, lxml is configured not to resolve."""
    url, hits = http_probe
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    from lxml import etree
    data = (f'<!DOCTYPE r [<!ENTITY f SYSTEM "file://{secret}"><!ENTITY n SYSTEM "{url}/n">]>'
            f"<r>&f;&n;</r>").encode()
    parser = etree.XMLParser(**PARSER_OPTIONS)
    root = etree.fromstring(data, parser)
    assert SECRET not in etree.tostring(root, encoding="unicode") and hits == []
    assert PARSER_OPTIONS["resolve_entities"] is False and PARSER_OPTIONS["no_network"] is True
    assert PARSER_OPTIONS["load_dtd"] is False and PARSER_OPTIONS["huge_tree"] is False


def test_billion_laughs_refused_fast(write):
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10))
    path = write(f'<?xml version="1.0"?><!DOCTYPE lolz [{entities}]><Loyers xmlns="{NS}">&lol9;</Loyers>')
    assert reject(path).code == "DOCTYPE_INTERDIT"


@pytest.mark.parametrize("prolog", [
    '<!DOCTYPE Loyers>',
    '<!-- commentaire --><!DOCTYPE Loyers>',
    '\ufeff<!DOCTYPE Loyers>',
    '<?xml version="1.0"?>\n\n   <!DOCTYPE Loyers PUBLIC "-//X//Y" "y.dtd">',
    '<?pi x?><!doctype Loyers>',
])
def test_any_doctype_is_refused(write, prolog):
    path = write(f'{prolog}<Loyers xmlns="{NS}"/>'.encode())
    assert reject(path).code == "DOCTYPE_INTERDIT"


def test_deep_nesting_refused_fast(write):
    depth = 100_000
    path = write(f'<Loyers xmlns="{NS}">' + "<a>" * depth + "</a>" * depth + "</Loyers>")
    assert reject(path).code in ("PROFONDEUR_EXCESSIVE", "NON_CONFORME_SCHEMA")
    no_schema = write("<r>" + "<a>" * 1000 + "</a>" * 1000 + "</r>", "deep2.xml")
    with pytest.raises(FormatError) as exc:
        list(stream_elements(no_schema, ("a",), None))
    assert exc.value.code == "PROFONDEUR_EXCESSIVE"


def test_oversize_refused_before_parsing(write):
    path = write(b"<" + b"x" * 2_000_000 + b"/>")
    error = reject(path)
    assert error.code == "FICHIER_TROP_VOLUMINEUX"


@pytest.mark.parametrize("data, code", [
    (b"", "FICHIER_VIDE"),
    (b"%PDF-1.4 " + SECRET.encode(), "XML_MALFORME"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "XML_MALFORME"),
    (f'<Loyers xmlns="{NS}"><Enveloppe>{SECRET}'.encode(), ("XML_MALFORME", "NON_CONFORME_SCHEMA")),
    (f'<Loyers xmlns="{NS}"><Enveloppe><Emetteur>'.encode(), "XML_MALFORME"),
    ("\ufeff<Loyers/>".encode("utf-16"), "ENCODAGE_NON_SUPPORTE"),
    (f'<?xml version="1.0" encoding="ISO-8859-1"?><Loyers xmlns="{NS}"/>'.encode(), "ENCODAGE_NON_SUPPORTE"),
    (f'<Loyers xmlns="{NS}">&undefined;</Loyers>'.encode(), ("ENTITE_INTERDITE", "XML_MALFORME")),
])
def test_non_xml_refused_with_a_code(write, data, code):
    error = reject(write(data))
    assert error.code in ((code,) if isinstance(code, str) else code)


def test_wrong_namespace_or_root_refused(write):
    assert reject(write('<Loyers xmlns="urn:caf:extranet:edi:loyers:99"/>')).code == "ESPACE_DE_NOMS_INCONNU"
    assert reject(write('<Loyers/>')).code == "ESPACE_DE_NOMS_INCONNU"
    assert reject(write(f'<{SECRET} xmlns="urn:evil"/>')).code == "ESPACE_DE_NOMS_INCONNU"


def test_foreign_element_name_not_echoed(write):
    data = (f'<Loyers xmlns="{NS}"><Enveloppe><{SECRET}/></Enveloppe></Loyers>')
    error = reject(write(data))
    assert error.code == "NON_CONFORME_SCHEMA"
    assert "Emetteur" in error.message  # our own names are kept to help the vendor


def test_prolog_check_accepts_comments_pi_and_bom():
    check_prolog(b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?>\n<!-- x --><?pi?>\n<Loyers/>')


def test_truncated_or_trailing_content_refused(write, tmp_path):
    from schemas import EXAMPLES_DIR
    data = (EXAMPLES_DIR / "loyers-exemple.xml").read_bytes()
    truncated = write(data[:data.rindex(b"</Loyers>")], "t.xml")
    assert reject(truncated).code == "XML_MALFORME"
    trailing = write(data + b"<Loyer/>", "t2.xml")
    assert reject(trailing).code == "XML_MALFORME"


@pytest.mark.parametrize("body", [
    f"<Loyers xmlns='{NS}'><Enveloppe></{SECRET}></Loyers>",
    f"<Loyers xmlns='{NS}'><{SECRET} a='1' a='2'/></Loyers>",
    f"<Loyers xmlns='{NS}'><Enveloppe><{SECRET}:x/></Enveloppe></Loyers>",
    f"<Loyers xmlns='{NS}'></Loyers><{SECRET}/>",
])
def test_wellformedness_errors_never_echo_tag_names(write, body):
    error = reject(write(body))
    assert error.code in ("XML_MALFORME", "NON_CONFORME_SCHEMA")
    assert "SECRET" not in error.message


def test_schema_messages_keep_our_patterns_but_not_values(write):
    data = (EXAMPLES_DIR_BYTES().replace(b"<NumeroAllocataire>8000001<", f"<NumeroAllocataire>{SECRET}<".encode()))
    error = reject(write(data))
    assert error.code == "NON_CONFORME_SCHEMA"
    assert SECRET not in error.message and "[0-9]{7}" in error.message


def EXAMPLES_DIR_BYTES():
    from schemas import EXAMPLES_DIR
    return (EXAMPLES_DIR / "loyers-exemple.xml").read_bytes()
