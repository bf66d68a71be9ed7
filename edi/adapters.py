"""The intake's seam to the other modules: edicrypto's formats / signatures / certificates and
CDAP's named interface for EDI (cdap.interface_edi). Each function here maps their interface to
what edi.intake needs, so the intake reads as the business process."""
from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator


class InvalidInbound(Exception):
    """The inbound file is refused as a whole: unsafe XML, not XML, not schema-valid."""

    def __init__(self, code: str, details: list[str], accuse_statut: str = "REJETE"):
        super().__init__(code)
        self.code, self.details, self.accuse_statut = code, details, accuse_statut


# ---------------------------------------------------------------- edicrypto

def _config(name: str, default: str) -> str:
    from flask import current_app
    return current_app.config.get(name) or default


def caf_identity() -> tuple[str, str]:
    """(code, SIREN) of the Caf: the receiver of inbound files, the sender of outbound ones."""
    return _config("EDI_CAF_CODE", "CAF80"), _config("EDI_CAF_SIREN", "534889877")


def verify_signature(data_path: Path, signature_der: bytes, organisation,
                     at: datetime) -> tuple[int | None, tuple[str, str, str | None] | None]:
    """(id of the registered certificate that verified it, None) when the detached CMS
    signature is valid for this organisation at `at` (receipt time), else (None, (code, French
    reason, SHA-256 the signature covers when it does not cover this file)) — codes of
    portal.crypto.signature.SIGNATURE_CODES."""
    from .certificates.services import verify_file_signature
    from portal.crypto.signature import SignatureError
    try:
        verified = verify_file_signature(data_path, signature_der, organisation, at)
    except SignatureError as exc:
        return None, (exc.code, exc.message, exc.signed_sha256)
    return verified.registered.id, None


def record_certificate_use(certificate_id: int) -> None:
    """One more file verified by this registered certificate, in the caller's transaction."""
    from .certificates.services import record_use
    record_use(certificate_id)


class InboundStream:
    """Envelope first (read when opened), then the records, streamed with XSD validation."""

    def __init__(self, path: Path, max_bytes: int, validate: bool = True, extract: bool = True,
                 columns: bool = False):
        from . import formats
        self._items = formats.stream(path, max_bytes=max_bytes, unique_ids=False,
                                     validate=validate, extract=extract, columns=columns)
        try:
            env = next(self._items)
        except StopIteration:  # pragma: no cover - stream always yields or raises
            raise InvalidInbound("NON_CONFORME_SCHEMA", ["Enveloppe absente."]) from None
        except formats.FormatError as exc:
            raise _invalid(exc) from None
        self.envelope = {
            "flux": env.flow, "emetteur": env.sender_code, "emetteur_siren": env.sender_siren,
            "destinataire": env.receiver_code, "destinataire_siren": env.receiver_siren,
            "identifiant_fichier": env.file_id, "numero_sequence": env.sequence,
            "date_creation": env.created_at.astimezone(timezone.utc).replace(tzinfo=None),
            "nombre_enregistrements": env.record_count, "mode": env.mode,
            "version_schema": env.schema_version,
        }

    def records(self) -> Iterator:
        """The record dicts, and with `columns` the blocks of records read at once
        (edi.formats.RecordColumns)."""
        from . import formats
        try:
            yield from self._items
        except formats.FormatError as exc:
            raise _invalid(exc) from None

    def validate_to_end(self) -> int:
        """Validate the rest of the file (XSD, record count) without building records; returns
        the number of records. Raises InvalidInbound."""
        from . import formats
        count = 0
        try:
            for _none in self._items:
                count += 1
        except formats.FormatError as exc:
            raise _invalid(exc) from None
        return count


# Reasons that make the ACCUSE say NON_CONFORME (not XML valid against the XSD); the envelope
# rules' reasons (the record count among them) say REJETE, as the specification's table does.
SCHEMA_CODES = {"NON_CONFORME_SCHEMA", "ESPACE_DE_NOMS_INCONNU", "FLUX_INATTENDU",
                "ENVELOPPE_INCOHERENTE", "IDENTIFIANT_DUPLIQUE", "XML_MALFORME"}


def _invalid(exc) -> InvalidInbound:
    detail = exc.message if not exc.line else f"{exc.message} (ligne {exc.line})"
    return InvalidInbound(exc.code, [detail],
                          "NON_CONFORME" if exc.code in SCHEMA_CODES else "REJETE")


def open_inbound(path: Path, max_bytes: int, validate: bool = True, extract: bool = True,
                 columns: bool = False) -> InboundStream:
    """`validate=False` only for a file a complete validating pass already accepted."""
    return InboundStream(path, max_bytes, validate=validate, extract=extract, columns=columns)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def write_accuse(out: BinaryIO, f, org, statut: str, results: Iterator[dict], result_count: int,
                 doublon=None) -> None:
    """Write the ACCUSE of file `f` (deterministic: every date comes from the row)."""
    from . import formats
    code, siren = caf_identity()
    envelope = formats.Envelope(
        flow="ACCUSE", sender_code=code, sender_siren=siren,
        receiver_code=org.code_bailleur or "INCONNU", receiver_siren=(org.siret or "000000000")[:9],
        file_id=f"ACCUSE-{f.id}", sequence=f.id, created_at=_utc(f.accuse_le),
        record_count=result_count, mode=f.mode or "PRODUCTION")
    received = formats.FichierRecu(
        sender_code=org.code_bailleur or "INCONNU", sender_siren=(org.siret or "000000000")[:9],
        sha256=f.sha256, size=f.taille, received_at=_utc(f.recu_le), flow=f.flux,
        file_id=f.identifiant_fichier, sequence=f.numero_sequence, mode=f.mode)
    data = formats.AccuseData(
        envelope=envelope, received=received, status=statut, records_total=f.nb_lus,
        records_accepted=f.nb_acceptes, records_rejected=f.nb_rejetes,
        records_warning=f.nb_avertissements,
        results=(formats.RecordResult(record_id=r["identifiant"], code=r["code"], label=r["libelle"],
                                      severity=r["severite"], line=r.get("ligne")) for r in results),
        result_count=result_count,
        file_reasons=[formats.FileReason(code=m["code"], label=m["libelle"], line=m.get("ligne"))
                      for m in (f.motifs or [])],
        duplicate_of=None if doublon is None else formats.DoublonDe(
            sha256=doublon.sha256, received_at=_utc(doublon.recu_le),
            file_id=doublon.identifiant_fichier))
    formats.write_accuse(out, data)


def write_avis(out: BinaryIO, org, identifiant: str, annee: int, mois: int,
               payments: list[dict], created_at: datetime) -> None:
    from . import formats
    code, siren = caf_identity()
    envelope = formats.Envelope(
        flow="AVIS_PAIEMENT", sender_code=code, sender_siren=siren,
        receiver_code=org.code_bailleur, receiver_siren=(org.siret or "000000000")[:9],
        file_id=identifiant, sequence=annee * 100 + mois, created_at=_utc(created_at),
        record_count=len(payments), mode="PRODUCTION")
    formats.write_avis_paiement(out, formats.AvisPaiementData(
        envelope=envelope, year=annee, month=mois,
        payments=[formats.Paiement(record_id=f"P{i:06d}", code_locataire=p["code_locataire"] or "INCONNU",
                                   numero_allocataire=p["numero_allocataire"], nom=p["nom"][:200],
                                   prestation=p["prestation"], montant_cents=p["montant_cents"],
                                   date_paiement=p["date_paiement"])
                  for i, p in enumerate(payments, 1)]))


def sign_outbound(data: BinaryIO) -> bytes:
    """Detached CMS signature of an outbound file (read as a stream) with the Caf's signing
    material."""
    from portal.crypto.pki import caf_signing_material
    from portal.crypto.signature import sign_detached
    material = caf_signing_material()
    return sign_detached(data, material.key, material.cert, extra_certs=material.chain)


# ---------------------------------------------------------------- CDAP

def _cdap():
    from cdap import interface_edi
    return interface_edi


def lookup_tenancies(code_bailleur: str, pairs: Iterable[tuple[str, str]]) -> dict:
    return _cdap().lookup_tenancies(code_bailleur, pairs)


def tenancy_after_mouvement(tenancy: dict, rec: dict, today: date) -> dict:
    return _cdap().tenancy_after_mouvement(tenancy, rec, today)


def apply_row(flux: str, rec: dict, key: str, date_signalement: date) -> dict:
    """The record as the CDAP service functions take it: the extracted record itself (its keys
    are the ones they read), given its idempotency key and, for IMPAYES, the reporting date.
    Mutates and returns `rec` (no copy per record on the bulk path)."""
    if flux not in ("LOYERS", "MOUVEMENTS", "IMPAYES"):
        raise ValueError(flux)
    rec["idempotency_key"] = key
    if flux == "IMPAYES":
        rec["plan_apurement"] = bool(rec.get("plan_apurement"))
        rec["date_signalement"] = date_signalement
    return rec


def apply(flux: str, code_bailleur: str, rows: list[dict], source: str) -> int:
    sb = _cdap()
    fn = {"LOYERS": sb.apply_loyers, "MOUVEMENTS": sb.apply_mouvements,
          "IMPAYES": sb.record_impayes}[flux]
    return fn(code_bailleur, rows, source)


def apply_loyers_blocks(code_bailleur: str, blocks: list, key_prefix: str, source: str) -> int:
    """The LOYERS records of `blocks` (edi.formats.RecordColumns), each given its idempotency key
    (`key_prefix` + its identifier), applied as apply would, column by column."""
    sb = _cdap()
    return sb.apply_loyers_columns(code_bailleur, _loyers_columns(sb, blocks, key_prefix), source)


def load_loyers_blocks(blocks: list[tuple[int, object]]) -> dict[str, str]:
    """PostgreSQL: the LOYERS records of `blocks` ((first rank, edi.formats.RecordColumns), in
    file order) loaded into CDAP's batch table with their identifiers and ranks, by one COPY;
    returns the table and its identifier and rank columns (for the file's seen identifiers).
    `apply_loaded_loyers` then applies them."""
    sb = _cdap()
    columns: dict[str, list] = {key: [] for key in sb.LOADED_COLUMNS}
    ranks: list[int] = []
    for rang, block in blocks:
        for key in sb.LOADED_COLUMNS:
            columns[key].extend(block.column(key))
        ranks.extend(range(rang, rang + len(block)))
    return sb.load_loyers_columns(columns, ranks)


def apply_loaded_loyers(code_bailleur: str, key_prefix: str, source: str) -> int:
    """The batch `load_loyers_blocks` loaded, applied as apply_loyers_blocks would."""
    return _cdap().apply_loaded_loyers(code_bailleur, key_prefix, source)


def _loyers_columns(sb, blocks: list, key_prefix: str) -> dict[str, list]:
    columns: dict[str, list] = {key: [] for key in sb.LOYERS_COLUMNS}
    for block in blocks:
        columns["idempotency_key"].extend(map(key_prefix.__add__, block.column("identifiant")))
        for key in sb.LOYERS_COLUMNS[1:]:
            columns[key].extend(block.column(key))
    return columns


def landlord_codes(annee: int, mois: int) -> list[str]:
    return _cdap().landlord_codes(annee, mois)


def tiers_payant_payments(code_bailleur: str, annee: int, mois: int) -> list[dict]:
    return _cdap().tiers_payant_payments(code_bailleur, annee, mois)


def find_tenant(code_bailleur: str, nom: str, numero_allocataire: str | None,
                code_locataire: str | None) -> tuple[str, str] | None:
    """(code_locataire, numero_allocataire) of the tenancy a web declaration names, or None."""
    return _cdap().find_tenant(code_bailleur, nom, numero_allocataire, code_locataire)


def tenancy_history(code_bailleur: str, code_locataire: str, numero_allocataire: str) -> list[dict]:
    return _cdap().tenancy_history(code_bailleur, code_locataire, numero_allocataire)


def first_tenant(code_bailleur: str) -> dict | None:
    return _cdap().first_tenant(code_bailleur)


def suivi_signalement(code_bailleur: str, idempotency_key: str) -> dict | None:
    """The follow-up of one unpaid-rent report as its landlord may read it (received date, plan,
    maintien de l'aide), or None."""
    return _cdap().suivi_signalement(code_bailleur, idempotency_key)


# ---------------------------------------------------------------- CDAP, SQLite staging (#18)

def create_loyers_stage(stage: str) -> None:
    _cdap().create_loyers_stage(stage)


def stage_loyers(code_bailleur: str, rows: list[dict], stage: str) -> int:
    """As `apply(\"LOYERS\", ...)`, into the staging table `stage`; rows of known tenancies."""
    return _cdap().stage_loyers(code_bailleur, rows, stage)


def stage_loyers_blocks(code_bailleur: str, blocks: list, key_prefix: str, stage: str) -> int:
    """As `apply_loyers_blocks`, into the staging table `stage`."""
    sb = _cdap()
    return sb.stage_loyers_columns(code_bailleur, _loyers_columns(sb, blocks, key_prefix), stage)


def apply_staged_loyers(code_bailleur: str, stage: str, source: str) -> int:
    return _cdap().apply_staged_loyers(code_bailleur, stage, source)


def tenancies_mark(code_bailleur: str) -> tuple:
    return _cdap().tenancies_mark(code_bailleur)


def any_tenancy_known(code_bailleur: str, pairs_table: str) -> bool:
    return _cdap().any_tenancy_known(code_bailleur, pairs_table)


def staged_dwelling_gone(stage: str) -> bool:
    return _cdap().staged_dwelling_gone(stage)
