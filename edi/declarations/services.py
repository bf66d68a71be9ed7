"""State changes of the web declarations, each writing its audit entry; they flush, the caller
(view, CLI) commits. Sending goes through the very functions an EDI record goes through: the
rules of edi.declaration_rules against the tenancy CDAP knows (edi.adapters.lookup_tenancies),
then the CDAP effect (edi.adapters.apply: rent history, movement, unpaid-rent report and its
queue item), under the idempotency key « WEB:<code bailleur>:<declaration id> »."""
from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import date

from portal.audit import record_event
from portal.downloads import display_name
from portal.extensions import db
from portal.models import Organisation, User, utcnow

from .. import adapters
from ..anomalies import ERREUR, Anomalie, anomalie, summarise
from ..declaration_rules import check_record, jour_de_reception
from ..intake import storage
from . import forms, receipt
from .models import ACTES, BROUILLON, ENVOYEE, DeclarationBailleur, PieceDeclaration

MAX_PIECE_BYTES = 5 * 1024 * 1024
MAX_PIECES = 10
NATURES = {"relance": "Lettre de relance", "plan": "Plan d'apurement signé", "autre": "Autre pièce"}
# Accepted types, recognised by their first bytes (the name and the browser's type are not trusted).
SIGNATURES = {b"%PDF-": ("application/pdf", "pdf"), b"\x89PNG\r\n\x1a\n": ("image/png", "png"),
              b"\xff\xd8\xff": ("image/jpeg", "jpg")}


class DeclarationError(Exception):
    """A refused action, with a French message (and, for a send, the errors by field)."""

    def __init__(self, message: str, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.errors = errors or {}


@dataclass
class Verification:
    """What sending the declaration today would do: the record, its anomalies (the same as an
    EDI record's), the errors by form field, and the warnings."""
    record: dict
    anomalies: list[Anomalie] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def warnings(self) -> list[Anomalie]:
        return [a for a in self.anomalies if a.severite != ERREUR]


def create_draft(org: Organisation, user: User, acte: str, saisie: dict[str, str]) -> DeclarationBailleur:
    if acte not in ACTES:
        raise DeclarationError("Type de déclaration inconnu.")
    d = DeclarationBailleur(organisation_id=org.id, acte=acte, statut=BROUILLON, saisie=saisie,
                    cree_par_id=user.id, cree_le=utcnow(), modifie_le=utcnow())
    db.session.add(d)
    db.session.flush()
    record_event("edi", "declaration_creee", actor=user, organisation_id=org.id,
                 target=f"declaration_bailleur:{d.id}", acte=acte)
    return d


def update_draft(d: DeclarationBailleur, user: User, saisie: dict[str, str]) -> DeclarationBailleur:
    _editable(d)
    d.saisie, d.modifie_le = saisie, utcnow()
    db.session.flush()
    record_event("edi", "declaration_modifiee", actor=user, organisation_id=d.organisation_id,
                 target=f"declaration_bailleur:{d.id}")
    return d


def delete_draft(d: DeclarationBailleur, user: User) -> None:
    _editable(d)
    record_event("edi", "declaration_supprimee", actor=user, organisation_id=d.organisation_id,
                 target=f"declaration_bailleur:{d.id}")
    db.session.delete(d)
    db.session.flush()


def _editable(d: DeclarationBailleur) -> None:
    if d.statut != BROUILLON:
        raise DeclarationError("Cette déclaration est envoyée : elle ne peut plus être modifiée.")


def verify(d: DeclarationBailleur, today: date) -> Verification:
    """The form's typing checks, then the tenant (named by numéro allocataire or code locataire
    with the name), then the rules of the EDI flow on the record, as of `today` (Paris)."""
    parsed = forms.parse(d.acte, d.saisie or {})
    result = Verification(parsed.record, errors=dict(parsed.errors))
    if result.errors:
        return result
    code_bailleur = d.organisation.code_bailleur or ""
    found = adapters.find_tenant(code_bailleur, d.saisie.get("nom", ""),
                                 parsed.record.get("numero_allocataire"), parsed.record.get("code_locataire"))
    tenancy = None
    if found is not None:
        parsed.record["code_locataire"], parsed.record["numero_allocataire"] = found
        tenancy = adapters.lookup_tenancies(code_bailleur, [found]).get(found)
    result.anomalies = check_record(d.flux, parsed.record, tenancy, today)
    for a in result.anomalies:
        if a.severite == ERREUR:
            name = forms.FIELD_OF_KEY.get(a.champ or "", "numero_allocataire")
            if a.code == "LOCATAIRE_INCONNU":
                a = anomalie("LOCATAIRE_INCONNU", "vérifiez le nom et le numéro allocataire ou le code "
                             "locataire : aucun de vos locataires connus de la Caf ne correspond", a.champ)
            result.errors.setdefault(name, a.libelle)
    return result


def send(d: DeclarationBailleur, user: User) -> DeclarationBailleur:
    """Check again and, without error, apply the record as an EDI record is applied, then
    build the signed PDF receipt. Raises DeclarationError (with the field errors) otherwise.
    The row is locked first (PostgreSQL): of two concurrent sends, the second waits, then finds
    the declaration sent."""
    db.session.refresh(d, with_for_update=True)
    _editable(d)
    now = utcnow()
    today = jour_de_reception(now)
    check = verify(d, today)
    if not check.ok:
        raise DeclarationError("La déclaration comporte des erreurs : corrigez-les avant de l'envoyer.",
                               check.errors)
    org = d.organisation
    key = f"WEB:{org.code_bailleur}:{d.id}"
    record = dict(check.record, identifiant=d.reference)
    row = adapters.apply_row(d.flux, dict(record), key, today)
    adapters.apply(d.flux, org.code_bailleur, [row], f"Formulaire {d.reference} ({d.flux})")
    _accepted, code, libelle, severite = summarise(check.anomalies)
    d.statut, d.envoye_le, d.envoye_par_id = ENVOYEE, now, user.id
    d.code_bailleur, d.idempotency_key = org.code_bailleur, key
    d.code_locataire, d.numero_allocataire = record["code_locataire"], record["numero_allocataire"]
    d.enregistrement = _jsonable(record)
    d.code, d.libelle, d.severite = code, libelle, severite
    d.empreinte = hashlib.sha256(json.dumps(
        {"acte": d.acte, "saisie": d.saisie, "enregistrement": d.enregistrement,
         "pieces": [p.sha256 for p in d.pieces]}, sort_keys=True).encode()).hexdigest()
    db.session.flush()
    pdf = receipt.build_receipt(d, user, today)
    stored = storage.store_bytes(pdf)
    d.recu_sha256 = stored.sha256
    d.recu_signature_sha256 = storage.store_bytes(adapters.sign_outbound(io.BytesIO(pdf))).sha256
    db.session.flush()
    record_event("edi", "declaration_envoyee", actor=user, organisation_id=d.organisation_id,
                 target=f"declaration_bailleur:{d.id}", acte=d.acte, resultat=code, empreinte=d.empreinte)
    return d


def add_piece(d: DeclarationBailleur, user: User, stream, filename: str | None, nature: str) -> PieceDeclaration:
    """Join a file (PDF, PNG or JPEG, 5 Mo at most, 10 per declaration) to a draft."""
    _editable(d)
    if nature not in NATURES:
        raise DeclarationError("Choisissez la nature de la pièce jointe.")
    if len(d.pieces) >= MAX_PIECES:
        raise DeclarationError(f"{MAX_PIECES} pièces jointes au plus par déclaration.")
    head = stream.read(8)
    kind = next((v for magic, v in SIGNATURES.items() if head.startswith(magic)), None)
    if kind is None:
        raise DeclarationError("Format refusé : joignez un PDF, un PNG ou un JPEG.")
    try:
        stored = storage.store_stream(_Rejoined(head, stream), max_bytes=MAX_PIECE_BYTES)
    except storage.TooLarge:
        raise DeclarationError(f"Fichier trop volumineux : {MAX_PIECE_BYTES // 1024 // 1024 or 1} Mo au plus.") from None
    name = display_name(filename, f"piece.{kind[1]}")
    piece = PieceDeclaration(declaration_id=d.id, nature=nature, nom=name, type_mime=kind[0],
                        sha256=stored.sha256, taille=stored.size, ajoute_par_id=user.id,
                        ajoute_le=utcnow(), rang=len(d.pieces) + 1)
    d.pieces.append(piece)
    d.modifie_le = utcnow()
    db.session.flush()
    record_event("edi", "declaration_piece_ajoutee", actor=user, organisation_id=d.organisation_id,
                 target=f"declaration_bailleur:{d.id}", piece=piece.id, sha256=stored.sha256)
    return piece


def remove_piece(d: DeclarationBailleur, piece: PieceDeclaration, user: User) -> None:
    _editable(d)
    record_event("edi", "declaration_piece_retiree", actor=user, organisation_id=d.organisation_id,
                 target=f"declaration_bailleur:{d.id}", piece=piece.id)
    d.pieces.remove(piece)
    db.session.flush()


class _Rejoined(io.RawIOBase):
    """The bytes already read to recognise the type, then the rest of the stream."""

    def __init__(self, head: bytes, rest):
        self.head, self.rest = head, rest

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.head:
            out, self.head = (self.head, b"") if size < 0 or size >= len(self.head) else \
                (self.head[:size], self.head[size:])
            return out
        return self.rest.read(size)

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def _jsonable(record: dict) -> dict:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in record.items()}
