"""The end of a file's processing: the ACCUSE built from the row and the staged results, signed
and stored once, then the final status (each ending restartable: an ACCUSE already recorded is
never built again)."""
from __future__ import annotations

from sqlalchemy import delete

from portal.audit import record_event
from portal.extensions import db
from portal.models import Organisation, utcnow

from .. import adapters, notifications, rules
from ..models import DOUBLON, REJETE, TRAITE, TRAITE_PARTIEL, EdiFichier
from . import storage
from .staging import STAGING, count_records, iter_results, result_count

ACCUSE_STATUTS = {TRAITE: "ACCEPTE", TRAITE_PARTIEL: "ACCEPTE_PARTIELLEMENT", REJETE: "REJETE",
                  DOUBLON: "DOUBLON"}  # + NON_CONFORME for schema rejections


def _write_accuse(f: EdiFichier, accuse_statut: str, with_records: bool) -> None:
    """Build, sign and store the ACCUSE once; the row then points to it forever."""
    if f.accuse_sha256:
        return
    f.etape = "accuse"
    f.accuse_le = f.accuse_le or utcnow()
    db.session.commit()
    org = db.session.get(Organisation, f.organisation_id)
    records = iter_results(f.id) if with_records else iter(())
    count = result_count(f.id) if with_records else 0
    doublon = db.session.get(EdiFichier, f.doublon_de_id) if accuse_statut == "DOUBLON" else None
    stored = storage.store_written(
        lambda out: adapters.write_accuse(out, f, org, accuse_statut, records, count, doublon), "accuse-")
    with storage.current().open(stored.sha256) as data:
        sig = storage.store_bytes(adapters.sign_outbound(data))
    f.accuse_sha256 = stored.sha256
    f.accuse_signature_sha256 = sig.sha256


def close(f: EdiFichier, statut: str, verified_by: int | None = None) -> dict:
    """The final status, committed once. `verified_by`: the certificate that verified the
    signature of a file refused afterwards, which counts it now (an applied file counted when
    it was applied)."""
    f.statut = statut
    f.etape = "termine"
    f.fin_traitement = utcnow()
    f.job_lease_expires_at = None
    if f.mode == "TEST" or statut == REJETE:
        # A vendor may send its test file again; a file none of whose records was accepted
        # applied nothing and was never "accepted": its identifier (and content) may come back.
        f.cle_contenu = None
        f.cle_identifiant = None
    record_event("edi", "fichier_traite", organisation_id=f.organisation_id,
                 target=f"edi_fichier:{f.id}", statut=statut, flux=f.flux,
                 acceptes=f.nb_acceptes, rejetes=f.nb_rejetes, appliques=f.nb_appliques)
    if verified_by is not None:
        adapters.record_certificate_use(verified_by)
    notifications.file_closed(f)
    db.session.commit()
    return {"fichier_id": f.id, "statut": statut, "acceptes": f.nb_acceptes,
            "rejetes": f.nb_rejetes, "appliques": f.nb_appliques}


def finish(f: EdiFichier) -> dict:
    count_records(f)
    statut = rules.file_outcome(f.nb_lus, f.nb_acceptes, f.nb_rejetes)
    motifs = [m for m in (f.motifs or []) if m["code"] not in ("AUCUN_ENREGISTREMENT_ACCEPTE", "MODE_TEST")]
    if statut == REJETE:
        motifs.append(rules.anomalie("AUCUN_ENREGISTREMENT_ACCEPTE").as_dict())
    if f.mode == "TEST":
        motifs.append(rules.anomalie("MODE_TEST").as_dict())
    f.motifs = motifs
    _write_accuse(f, ACCUSE_STATUTS[statut], with_records=True)
    return close(f, statut)


def finish_rejected(f: EdiFichier, rejet) -> dict:
    db.session.rollback()
    f = db.session.get(EdiFichier, f.id, populate_existing=True)
    db.session.execute(delete(STAGING).where(STAGING.c.fichier_id == f.id))
    f.motifs = [a.as_dict() for a in rejet.anomalies]
    f.rejet_technique = True
    f.staging_complet = False
    f.nb_lus = f.nb_acceptes = f.nb_rejetes = f.nb_avertissements = f.nb_appliques = 0
    f.cle_contenu = None      # a technical rejection frees the content and the identifier
    f.cle_identifiant = None
    db.session.commit()
    _write_accuse(f, rejet.accuse_statut, with_records=False)
    return close(f, REJETE, rejet.verified_by)


def finish_doublon(f: EdiFichier, doublon) -> dict:
    db.session.rollback()
    f = db.session.get(EdiFichier, f.id, populate_existing=True)
    db.session.execute(delete(STAGING).where(STAGING.c.fichier_id == f.id))
    f.doublon_de_id = doublon.first_id
    f.motifs = [rules.anomalie("DOUBLON", doublon.detail).as_dict()]
    f.staging_complet = False
    f.cle_identifiant = None
    f.nb_lus = f.nb_acceptes = f.nb_rejetes = f.nb_avertissements = f.nb_appliques = 0
    db.session.commit()
    _write_accuse(f, "DOUBLON", with_records=False)
    return close(f, DOUBLON, doublon.verified_by)
