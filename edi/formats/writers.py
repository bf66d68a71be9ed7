"""Writers of the outbound flows, ACCUSE and AVIS_PAIEMENT, streamed (``lxml.etree.xmlfile``):
``out`` is a path or a binary file object; same inputs -> same bytes (no clock read, stable
order, fixed formatting)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO

from lxml import etree

from .envelope import Envelope, format_utc
from .flows import FILE_STATUSES, SEVERITIES, namespace

@dataclass(frozen=True)
class FichierRecu:
    """The received file as the ACCUSE describes it (optional parts unknown if unreadable)."""
    sender_code: str
    sender_siren: str
    sha256: str
    size: int
    received_at: datetime
    flow: str | None = None
    file_id: str | None = None
    sequence: int | None = None
    mode: str | None = None


@dataclass(frozen=True)
class FileReason:
    code: str
    label: str
    line: int | None = None


@dataclass(frozen=True)
class RecordResult:
    record_id: str
    code: str
    label: str
    severity: str  # ERREUR | AVERTISSEMENT | INFORMATION
    line: int | None = None


@dataclass(frozen=True)
class DoublonDe:
    sha256: str
    received_at: datetime
    file_id: str | None = None


@dataclass
class AccuseData:
    """Everything an ACCUSE says. ``results`` may be a generator (streamed, e.g. from the
    database in order); then ``result_count`` must be given and is checked at the end."""
    envelope: Envelope  # flow="ACCUSE", sender = the Caf, receiver = the landlord
    received: FichierRecu
    status: str  # key of FILE_STATUSES
    records_total: int
    records_accepted: int
    records_rejected: int
    records_warning: int
    results: Iterable[RecordResult] = ()
    result_count: int | None = None
    file_reasons: Iterable[FileReason] = ()
    duplicate_of: DoublonDe | None = None


@dataclass(frozen=True)
class Paiement:
    record_id: str
    code_locataire: str
    numero_allocataire: str
    nom: str
    prestation: str
    montant_cents: int
    date_paiement: date


@dataclass
class AvisPaiementData:
    envelope: Envelope  # flow="AVIS_PAIEMENT", record_count = number of payments
    year: int
    month: int
    payments: Iterable[Paiement] = ()


class _Writer:
    def __init__(self, xf, ns):
        self.xf, self.ns = xf, ns

    def q(self, name):
        return f"{{{self.ns}}}{name}"

    def nl(self, indent=0):
        self.xf.write("\n" + "  " * indent)

    def leaf(self, name, value, indent, attrib=None):
        self.nl(indent)
        with self.xf.element(self.q(name), attrib or {}):
            self.xf.write(str(value))

    def partenaire(self, name, code, siren, indent):
        self.nl(indent)
        with self.xf.element(self.q(name)):
            self.leaf("Code", code, indent + 1)
            self.leaf("Siren", siren, indent + 1)
            self.nl(indent)

    def envelope(self, env: Envelope):
        self.nl(1)
        with self.xf.element(self.q("Enveloppe")):
            self.partenaire("Emetteur", env.sender_code, env.sender_siren, 2)
            self.partenaire("Destinataire", env.receiver_code, env.receiver_siren, 2)
            self.leaf("Flux", env.flow, 2)
            self.leaf("IdentifiantFichier", env.file_id, 2)
            self.leaf("NumeroSequence", env.sequence, 2)
            self.leaf("DateCreation", format_utc(env.created_at), 2)
            self.leaf("NombreEnregistrements", env.record_count, 2)
            self.leaf("Mode", env.mode, 2)
            self.leaf("VersionSchema", env.schema_version, 2)
            self.nl(1)


def _open_out(out) -> tuple[IO[bytes], bool]:
    if hasattr(out, "write"):
        return out, False
    return open(out, "wb"), True


def _check_outbound(envelope: Envelope, flow: str):
    if envelope.flow != flow:
        raise ValueError(f"enveloppe du flux {envelope.flow} pour un fichier {flow}")
    if envelope.mode not in ("TEST", "PRODUCTION"):
        raise ValueError("mode TEST ou PRODUCTION attendu")


def write_accuse(out, accuse: AccuseData) -> None:
    """Write an ACCUSE (streamed). ``out``: path or binary file object. Deterministic bytes.

    Every ``RecordResult`` and ``FileReason`` is written in full (no truncation); the envelope's
    record count must equal the number of results (checked; ``ValueError`` otherwise — the
    partial output must then be discarded by the caller)."""
    _check_outbound(accuse.envelope, "ACCUSE")
    if accuse.status not in FILE_STATUSES:
        raise ValueError(f"statut de fichier inconnu : {accuse.status}")
    ns = namespace("ACCUSE", accuse.envelope.schema_version)
    fh, close = _open_out(out)
    try:
        with etree.xmlfile(fh, encoding="UTF-8") as xf:
            xf.write_declaration()
            w = _Writer(xf, ns)
            with xf.element(w.q("Accuse"), nsmap={None: ns}):
                w.envelope(accuse.envelope)
                r = accuse.received
                w.nl(1)
                with xf.element(w.q("FichierRecu")):
                    w.partenaire("Emetteur", r.sender_code, r.sender_siren, 2)
                    for name, value in (("Flux", r.flow), ("IdentifiantFichier", r.file_id),
                                        ("NumeroSequence", r.sequence), ("Mode", r.mode)):
                        if value is not None:
                            w.leaf(name, value, 2)
                    w.leaf("Empreinte", r.sha256.lower(), 2, {"algorithme": "SHA-256"})
                    w.leaf("Taille", r.size, 2)
                    w.leaf("DateReception", format_utc(r.received_at), 2)
                    w.nl(1)
                w.nl(1)
                with xf.element(w.q("Statut")):
                    w.leaf("Code", accuse.status, 2)
                    w.leaf("Libelle", FILE_STATUSES[accuse.status], 2)
                    w.nl(1)
                w.nl(1)
                with xf.element(w.q("Synthese")):
                    w.leaf("NombreEnregistrements", accuse.records_total, 2)
                    w.leaf("NombreAcceptes", accuse.records_accepted, 2)
                    w.leaf("NombreRejetes", accuse.records_rejected, 2)
                    w.leaf("NombreAvertissements", accuse.records_warning, 2)
                    w.nl(1)
                if accuse.duplicate_of is not None:
                    d = accuse.duplicate_of
                    w.nl(1)
                    with xf.element(w.q("DoublonDe")):
                        if d.file_id:
                            w.leaf("IdentifiantFichier", d.file_id, 2)
                        w.leaf("Empreinte", d.sha256.lower(), 2, {"algorithme": "SHA-256"})
                        w.leaf("DateReception", format_utc(d.received_at), 2)
                        w.nl(1)
                for reason in accuse.file_reasons:
                    w.nl(1)
                    with xf.element(w.q("MotifFichier")):
                        w.leaf("Code", reason.code, 2)
                        w.leaf("Libelle", reason.label, 2)
                        if reason.line:
                            w.leaf("Ligne", reason.line, 2)
                        w.nl(1)
                written = 0
                for res in accuse.results:
                    if res.severity not in SEVERITIES:
                        raise ValueError(f"gravité inconnue : {res.severity}")
                    w.nl(1)
                    with xf.element(w.q("Resultat")):
                        w.leaf("Identifiant", res.record_id, 2)
                        if res.line:
                            w.leaf("Ligne", res.line, 2)
                        w.leaf("Code", res.code, 2)
                        w.leaf("Libelle", res.label, 2)
                        w.leaf("Gravite", res.severity, 2)
                        w.nl(1)
                    written += 1
                if written != accuse.envelope.record_count:
                    raise ValueError(f"l'enveloppe annonce {accuse.envelope.record_count} résultat(s), "
                                     f"{written} écrit(s)")
                w.nl(0)
        fh.write(b"\n")
    finally:
        if close:
            fh.close()


def write_avis_paiement(out, avis: AvisPaiementData) -> None:
    """Write an AVIS_PAIEMENT (streamed, totals computed while writing). Deterministic bytes."""
    _check_outbound(avis.envelope, "AVIS_PAIEMENT")
    ns = namespace("AVIS_PAIEMENT", avis.envelope.schema_version)
    fh, close = _open_out(out)
    try:
        with etree.xmlfile(fh, encoding="UTF-8") as xf:
            xf.write_declaration()
            w = _Writer(xf, ns)
            with xf.element(w.q("AvisPaiement"), nsmap={None: ns}):
                w.envelope(avis.envelope)
                w.nl(1)
                with xf.element(w.q("Periode")):
                    w.leaf("Annee", avis.year, 2)
                    w.leaf("Mois", avis.month, 2)
                    w.nl(1)
                count = total = 0
                for p in avis.payments:
                    w.nl(1)
                    with xf.element(w.q("Paiement")):
                        w.leaf("Identifiant", p.record_id, 2)
                        w.leaf("CodeLocataire", p.code_locataire, 2)
                        w.leaf("NumeroAllocataire", p.numero_allocataire, 2)
                        w.leaf("Nom", p.nom, 2)
                        w.leaf("Prestation", p.prestation, 2)
                        w.leaf("MontantCentimes", int(p.montant_cents), 2)
                        w.leaf("DatePaiement", p.date_paiement.isoformat(), 2)
                        w.nl(1)
                    count += 1
                    total += int(p.montant_cents)
                if count != avis.envelope.record_count:
                    raise ValueError(f"l'enveloppe annonce {avis.envelope.record_count} paiement(s), "
                                     f"{count} écrit(s)")
                w.nl(1)
                with xf.element(w.q("Total")):
                    w.leaf("NombrePaiements", count, 2)
                    w.leaf("MontantCentimes", total, 2)
                    w.nl(1)
                w.nl(0)
        fh.write(b"\n")
    finally:
        if close:
            fh.close()
