"""The Caf's signed documents (ACCUSE, AVIS_PAIEMENT) in forms people read: a PDF and a CSV of
their records, made from the signed XML itself (what the PDF says is what was signed). The XML
and its .p7s stay the documents of record; these are readings of them.

Pure Python on the XML bytes (lxml, no entities, no network): `read_accuse`/`read_avis` give
plain data, `*_pdf` and `*_csv` render it. A PDF lists the first PDF_MAX_ROWS records and says
so when there are more; the CSV has them all.
"""
from __future__ import annotations

import io
from datetime import date, datetime
from typing import Iterator

from lxml import etree

from portal.dates import PARIS
from portal.formatting import decimal_centimes, euros_centimes
from portal.spreadsheets import csv_text

PDF_MAX_ROWS = 1000

STATUTS_ACCUSE = {"ACCEPTE": "Accepté", "ACCEPTE_PARTIELLEMENT": "Accepté partiellement",
                  "REJETE": "Rejeté", "NON_CONFORME": "Non conforme", "DOUBLON": "Doublon"}
GRAVITES = {"ERREUR": "Erreur", "AVERTISSEMENT": "Avertissement", "INFORMATION": "Information"}
MOIS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
        "octobre", "novembre", "décembre")

_PARSER = dict(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)


def _local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _children(el) -> dict[str, etree._Element]:
    return {_local(c.tag): c for c in el if isinstance(c.tag, str)}


def _text(el, *path: str) -> str:
    for name in path:
        if el is None:
            return ""
        el = _children(el).get(name)
    return (el.text or "").strip() if el is not None else ""


def _paris(iso: str) -> str:
    """« 31/07/2026 à 10:31 » (Paris) from an ISO UTC time of the document."""
    if not iso:
        return "—"
    try:
        when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    return when.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M")


def _date(iso: str) -> str:
    try:
        return date.fromisoformat(iso).strftime("%d/%m/%Y")
    except ValueError:
        return iso


def _records(xml: bytes, name: str) -> Iterator[dict[str, str]]:
    """Each `name` element under the root, as {child: text}, streamed."""
    for _, el in etree.iterparse(io.BytesIO(xml), events=("end",), **_PARSER):
        if _local(el.tag) == name and _local(el.getparent().tag) in ("Accuse", "AvisPaiement"):
            yield {k: (v.text or "").strip() for k, v in _children(el).items()}
            el.clear()


def _root(xml: bytes):
    """The document without its repeated records (those are streamed by `_records`)."""
    root = None
    for event, el in etree.iterparse(io.BytesIO(xml), events=("start", "end"), **_PARSER):
        if event == "start" and root is None:
            root = el
        elif event == "end" and _local(el.tag) in ("Resultat", "Paiement") and el.getparent() is root:
            el.clear()
    return root


def read_accuse(xml: bytes) -> dict:
    root = _root(xml)
    statut = _text(root, "Statut", "Code")
    return {
        "identifiant": _text(root, "Enveloppe", "IdentifiantFichier"),
        "cree_le": _paris(_text(root, "Enveloppe", "DateCreation")),
        "destinataire": _text(root, "Enveloppe", "Destinataire", "Code"),
        "fichier": {"flux": _text(root, "FichierRecu", "Flux"),
                    "identifiant": _text(root, "FichierRecu", "IdentifiantFichier"),
                    "sequence": _text(root, "FichierRecu", "NumeroSequence"),
                    "mode": _text(root, "FichierRecu", "Mode"),
                    "empreinte": _text(root, "FichierRecu", "Empreinte"),
                    "recu_le": _paris(_text(root, "FichierRecu", "DateReception"))},
        "statut": STATUTS_ACCUSE.get(statut, statut),
        "synthese": {k: _text(root, "Synthese", k) for k in (
            "NombreEnregistrements", "NombreAcceptes", "NombreRejetes", "NombreAvertissements")},
        "motifs": [{"code": _text(m, "Code"), "libelle": _text(m, "Libelle")}
                   for m in root if _local(m.tag) == "MotifFichier"],
    }


def read_avis(xml: bytes) -> dict:
    root = _root(xml)
    annee, mois = _text(root, "Periode", "Annee"), _text(root, "Periode", "Mois")
    periode = f"{MOIS[int(mois) - 1]} {annee}" if mois.isdigit() and 1 <= int(mois) <= 12 else f"{mois}/{annee}"
    return {"identifiant": _text(root, "Enveloppe", "IdentifiantFichier"),
            "cree_le": _paris(_text(root, "Enveloppe", "DateCreation")),
            "destinataire": _text(root, "Enveloppe", "Destinataire", "Code"),
            "periode": periode,
            "nombre": _text(root, "Total", "NombrePaiements"),
            "total": _text(root, "Total", "MontantCentimes")}


# ------------------------------------------------------------------------------------- PDF

def accuse_pdf(xml: bytes, organisation: str) -> bytes:
    doc = read_accuse(xml)
    f, s = doc["fichier"], doc["synthese"]
    from .documents_pdf import Pdf, latin  # fpdf2 loaded when a PDF is made (see that module)
    pdf = Pdf(f"Accusé de traitement - {f['identifiant'] or doc['identifiant']}")
    pdf.pairs([("Bailleur", f"{organisation} ({doc['destinataire']})"),
               ("Fichier reçu", f"{f['flux']} {f['identifiant']} (séquence {f['sequence']}, {f['mode'].lower()})"),
               ("Reçu le", f"{f['recu_le']} (heure de Paris)"),
               ("Empreinte SHA-256", f["empreinte"]),
               ("Résultat", doc["statut"]),
               ("Enregistrements", f"{s['NombreEnregistrements'] or 0} lus, {s['NombreAcceptes'] or 0} acceptés, "
                                   f"{s['NombreRejetes'] or 0} rejetés, {s['NombreAvertissements'] or 0} avec avertissement"),
               ("Accusé", f"{doc['identifiant']}, établi le {doc['cree_le']} (heure de Paris)")])
    if doc["motifs"]:
        pdf.heading("Motifs concernant le fichier")
        pdf.set_font("Helvetica", "", 10)
        for m in doc["motifs"]:
            pdf.multi_cell(0, 6, latin(f"- {m['libelle']} (code {m['code']})"), new_x="LMARGIN", new_y="NEXT")
    results = list(_records(xml, "Resultat"))
    if results:
        pdf.heading("Enregistrements avec une anomalie")
        pdf.table(["Identifiant", "Ligne", "Gravité", "Motif", "Code"], [24, 12, 24, 90, 40],
                  ([r.get("Identifiant", ""), r.get("Ligne", ""), GRAVITES.get(r.get("Gravite", ""), r.get("Gravite", "")),
                    r.get("Libelle", ""), r.get("Code", "")] for r in results), len(results))
    return pdf.done()


def avis_pdf(xml: bytes, organisation: str) -> bytes:
    doc = read_avis(xml)
    from .documents_pdf import Pdf
    pdf = Pdf(f"Avis de paiement - {doc['periode']}")
    total = int(doc["total"]) if doc["total"].lstrip("-").isdigit() else 0
    pdf.pairs([("Bailleur", f"{organisation} ({doc['destinataire']})"),
               ("Période", doc["periode"]),
               ("Paiements", doc["nombre"]),
               ("Montant total", euros_centimes(total)),
               ("Avis", f"{doc['identifiant']}, établi le {doc['cree_le']} (heure de Paris)")])
    payments = list(_records(xml, "Paiement"))
    pdf.heading("Paiements en tiers payant")
    pdf.table(["Locataire", "Allocataire", "Nom", "Prestation", "Montant", "Versé le"],
              [24, 24, 56, 24, 32, 30],
              ([p.get("CodeLocataire", ""), p.get("NumeroAllocataire", ""), p.get("Nom", ""),
                p.get("Prestation", ""), _cents(p.get("MontantCentimes", "")), _date(p.get("DatePaiement", ""))]
               for p in payments), len(payments))
    return pdf.done()


def _cents(text: str) -> str:
    return euros_centimes(int(text)) if text.lstrip("-").isdigit() else text


# ------------------------------------------------------------------------------------- CSV

def accuse_csv(xml: bytes) -> str:
    return csv_text(["Identifiant", "Ligne", "Code", "Motif", "Gravité"],
                ([r.get("Identifiant", ""), r.get("Ligne", ""), r.get("Code", ""), r.get("Libelle", ""),
                  GRAVITES.get(r.get("Gravite", ""), r.get("Gravite", ""))] for r in _records(xml, "Resultat")))


def avis_csv(xml: bytes) -> str:
    return csv_text(["Identifiant", "Code locataire", "Numéro allocataire", "Nom", "Prestation",
                 "Montant (€)", "Date de paiement"],
                ([p.get("Identifiant", ""), p.get("CodeLocataire", ""), p.get("NumeroAllocataire", ""),
                  p.get("Nom", ""), p.get("Prestation", ""), _euros_plain(p.get("MontantCentimes", "")),
                  _date(p.get("DatePaiement", ""))] for p in _records(xml, "Paiement")))


def _euros_plain(text: str) -> str:
    """« 312,45 »: a number a French spreadsheet reads."""
    if not text.lstrip("-").isdigit():
        return text
    return decimal_centimes(int(text))
