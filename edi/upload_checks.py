"""What an operator chose to upload, told in words before anything is stored: a file that is
not XML at all (a PDF, a spreadsheet, an image, the signature itself) or a signature that is an
XML file. Pure Python on the first bytes; the web upload page refuses with these messages (the
API keeps its contract: such a file is received and rejected with its accusé).

A file that starts like XML goes on: whether it is well formed, valid and signed is the
processing's to say, with the accusé."""
from __future__ import annotations

HEAD_BYTES = 512

# Leading bytes of the formats people pick by mistake, and what to call them.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "un document PDF"),
    (b"PK\x03\x04", "une archive ZIP ou un document bureautique (tableur, traitement de texte)"),
    (b"\xd0\xcf\x11\xe0", "un document bureautique (ancien format Office)"),
    (b"\x89PNG", "une image PNG"),
    (b"\xff\xd8\xff", "une image JPEG"),
    (b"GIF8", "une image GIF"),
    (b"\x1f\x8b", "une archive compressée (gzip)"),
    (b"-----BEGIN", "un certificat ou une clé au format PEM"),
)


def _looks_like_signature(head: bytes) -> bool:
    """A DER SEQUENCE with a long length, as a CMS SignedData (.p7s) starts."""
    return len(head) > 4 and head[0] == 0x30 and head[1] in (0x80, 0x81, 0x82, 0x83)


def _what(head: bytes) -> str | None:
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if _looks_like_signature(head):
        return "une signature (.p7s)"
    return None


def _starts_like_xml(head: bytes) -> bool:
    text = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    text = text.lstrip(b" \t\r\n")
    return not text or text.startswith(b"<")


def file_problem(head: bytes) -> str | None:
    """Why the chosen data file is not an XML file (None: it starts like one)."""
    what = _what(head)
    if what == "une signature (.p7s)":
        return ("Ce fichier est une signature (.p7s), pas le fichier XML du flux : choisissez le "
                "fichier XML ici et sa signature dans le champ « Signature ».")
    if what:
        return f"Ce fichier n'est pas un fichier XML : c'est {what}. Déposez le fichier XML du flux (LOYERS, IMPAYES ou MOUVEMENTS)."
    if not _starts_like_xml(head):
        return ("Ce fichier n'est pas un fichier XML : il ne commence pas par une balise XML. "
                "Déposez le fichier XML du flux (LOYERS, IMPAYES ou MOUVEMENTS).")
    return None


def signature_problem(head: bytes) -> str | None:
    """Why the chosen signature is not a detached signature (None: it may be one)."""
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return ("La signature choisie est un fichier XML : joignez la signature détachée (.p7s) "
                "produite en signant le fichier.")
    what = _what(head)
    if what and what not in ("une signature (.p7s)", "un certificat ou une clé au format PEM"):
        return f"La signature choisie n'est pas une signature (.p7s) : c'est {what}."
    return None
