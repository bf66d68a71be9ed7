"""The PDF receipt of a sent web declaration (fpdf2, core fonts): the acknowledgment an EDI
record gets in the ACCUSE — the same code, label and severity — with what was declared, the
attachments' SHA-256 and the declaration's seal (empreinte). Signed by the Caf like the
ACCUSE (detached CMS, edi.adapters.sign_outbound); built once at sending and stored, so it
downloads with the same bytes every time."""
from __future__ import annotations

from datetime import date, timezone

from portal.dates import PARIS
from portal.formatting import euros_centimes
from portal.pdf import Document, latin

from . import forms

def _value(name: str, raw: str) -> str:
    kind = forms.FIELDS_KIND.get(name)
    if not raw:
        return "-"
    if kind == "euros":
        cents = forms.parse_euros(raw)
        return euros_centimes(cents) if cents is not None else raw
    if kind == "date":
        d = forms.parse_date(raw)
        return d.strftime("%d/%m/%Y") if d else raw
    if kind == "choice":
        return forms.CHOICES[name].get(raw, raw)
    return raw


def build_receipt(d, user, today: date) -> bytes:
    sent = d.envoye_le.replace(tzinfo=timezone.utc).astimezone(PARIS)
    pdf = Document(f"Accusé de réception - {d.acte_label}",
                   "Caf - Extranet Partenaires, espace bailleur. Déclaration reçue par formulaire ; "
                   "document signé électroniquement par la Caf (signature détachée .p7s fournie avec ce "
                   "reçu).", label_width=60)
    pdf.set_creation_date(d.envoye_le.replace(tzinfo=timezone.utc))
    pdf.set_title(latin(f"Accusé de réception - {d.reference}"))
    rows = [
        ("Référence", d.reference),
        ("Bailleur", f"{d.organisation.nom} (code bailleur {d.code_bailleur})"),
        ("Reçue le", sent.strftime("%d/%m/%Y à %H:%M") + " (heure de Paris)"),
        ("Envoyée par", user.full_name),
        ("Canal", "formulaire"),
        ("Résultat", d.statut_label),
        ("Contrôles", d.libelle),
        ("Code (accusé EDI)", d.code),
    ]
    pdf.pairs(rows)
    pdf.heading("Déclaration")
    saisie = d.saisie or {}
    pdf.pairs([(label, _value(name, saisie.get(name, ""))) for name, (label, _k, _r)
               in forms.FIELDS[d.acte].items()]
              + [("Locataire retenu", f"code {d.code_locataire}, allocataire {d.numero_allocataire}")])
    pdf.heading("Pièces jointes")
    pdf.set_font("Helvetica", "", 9)
    if not d.pieces:
        pdf.multi_cell(0, 5, latin("Aucune."), new_x="LMARGIN", new_y="NEXT")
    for p in d.pieces:
        pdf.multi_cell(0, 5, latin(f"{p.nom} ({p.type_mime}, {p.taille} octets) - SHA-256 {p.sha256}"),
                       new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 9)
    pdf.multi_cell(0, 5, latin(f"Empreinte SHA-256 de la déclaration : {d.empreinte}"),
                   new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "I", 8)
    pdf.multi_cell(0, 4, latin("Ce reçu atteste la réception et le résultat des contrôles, avec les "
                                "mêmes codes que l'accusé des fichiers EDI. Il ne préjuge pas des suites "
                                "données par la Caf."), new_x="LMARGIN", new_y="NEXT")
    return pdf.done()
