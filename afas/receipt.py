"""PDF « accusé de réception de déclaration » for a transmitted version (fpdf2, core fonts)."""
from __future__ import annotations

from portal.formatting import date_heure, euros
from portal.pdf import Document, latin


def timing(version) -> str:
    """Where the transmission stands against its campaign window (flags set by services.transmit:
    a new version after a correction asked by the Caf keeps the first transmission's timing)."""
    if version.late:
        text = "transmise APRÈS l'échéance (en retard)"
    elif version.anticipee:
        text = "transmise AVANT l'ouverture de la campagne (hors fenêtre, signalée)"
    else:
        text = "dans les délais"
    if version.numero > 1:
        return f"nouvelle version à la demande de la Caf ; première transmission {text}"
    return text


def build_receipt(decl, version) -> bytes:
    pdf = Document(f"Accusé de réception - {decl.titre}",
                   "Caf - Extranet Partenaires, service AFAS. Document généré automatiquement.",
                   label_width=45)
    eq = decl.equipement
    rows = [
        ("Organisation", eq.organisation.nom),
        ("Équipement", f"{eq.libelle} - {eq.type} - n° {eq.numero}"),
        ("Déclaration", f"{decl.type_label} {decl.annee}"),
        ("Version", str(version.numero)),
        ("Transmise le", date_heure(version.created_at, secondes=True, fuseau=True)),
        ("Transmise par", version.user.full_name if version.user else "-"),
        ("Canal", "API" if version.via == "api" else "portail"),
        ("Échéance", decl.echeance.strftime("%d/%m/%Y") if decl.echeance else "-"),
        ("Délai", timing(version)),
        ("Droit estimé", euros(version.montant, absent="-")),
        ("Barème", (version.droit or {}).get("bareme", "")),
        ("Empreinte SHA-256", version.content_hash),
    ]
    pdf.pairs(rows)
    pdf.heading("Points de contrôle")
    pdf.set_font("Helvetica", "", 9)
    if not version.controles:
        pdf.multi_cell(0, 6, latin("Aucun point de contrôle signalé."), new_x="LMARGIN", new_y="NEXT")
    for c in version.controles:
        pdf.multi_cell(0, 5, latin(f"[{c['code']} - {c['severite']}] {c['message']}"), new_x="LMARGIN", new_y="NEXT")
        justification = (version.justifications or {}).get(c["code"])
        if justification:
            pdf.set_font("Helvetica", "I", 9)
            pdf.multi_cell(0, 5, latin(f"Justification : {justification}"), new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Helvetica", "", 9)
        pdf.ln(1)
    pdf.heading("Calcul du droit")
    pdf.set_font("Helvetica", "", 9)
    for step in (version.droit or {}).get("etapes", []):
        pdf.multi_cell(0, 5, latin(f"{step['libelle']} : {step['calcul']} = {step['valeur']}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "I", 8)
    pdf.multi_cell(0, 4, latin("L'empreinte SHA-256 scelle le contenu transmis (données, contrôles, justifications, "
                               "droit). Ce document atteste la réception ; il ne vaut pas validation par la Caf. "
                               "Barèmes de démonstration : montants fictifs."), new_x="LMARGIN", new_y="NEXT")
    return pdf.done()
