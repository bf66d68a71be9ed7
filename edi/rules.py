"""EDI file rules: pure functions (no Flask, no database), data in, anomalies out.

The envelope and file-level rules live here. The rules of each record — R824-1 constitution
of the impayé, R824-4 two-month delay, plausibility of amounts and dates, coherence of a
movement — are edi.declaration_rules, the one rule module of both channels (EDI records and the
landlords' web forms); the anomaly codes are edi.anomalies. Both are re-exported here, so the
intake reads `rules.X` for all of them.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from portal.formatting import accord, date_heure

from .anomalies import (ACCEPTED, AVERTISSEMENT, CODES, ERREUR, INFO, Anomalie,  # noqa: F401
                        anomalie, summarise)
from .declaration_rules import (CHARGES_MAX_CENTS, CHECKS, COLOCATAIRES_MAX,  # noqa: F401
                                DETTE_MAX_CENTS, LOYER_MAX_CENTS, MAX_FUTURE_DAYS, MIN_DATE,
                                NEEDS_TENANCY_DETAILS, TENANCY_UNCHECKED, _max_date,
                                check_impaye, check_loyer, check_mouvement, check_record,
                                echeance_signalement, fmt_euros, impaye_constitue,
                                loyers_plausible, montant_mensuel_net, seuil_impaye,
                                jour_de_reception, signalement_tardif)

CREATION_WINDOW_PAST = timedelta(days=31)  # same window as edi.formats.check_envelope
CREATION_WINDOW_FUTURE = timedelta(minutes=10)


# ---------------------------------------------------------------- envelope

def check_envelope(env: dict, *, code_bailleur: str | None, siren: str | None,
                   received_at: datetime, derniere_sequence: int | None,
                   receveur_attendu: str | None = None,
                   receveur_siren_attendu: str | None = None) -> list[Anomalie]:
    """Envelope rules known at the start of the file (the record count is checked at the end
    with `check_record_count`). `env` keys: emetteur, destinataire, date_creation (naive UTC
    datetime), numero_sequence."""
    out: list[Anomalie] = []
    emetteur = (env.get("emetteur") or "").strip()
    if not code_bailleur or emetteur != code_bailleur:
        out.append(anomalie("EMETTEUR_INCORRECT", f"code « {emetteur[:40]} » au lieu de "
                            f"« {code_bailleur or '(aucun code bailleur)'} »"))
    emetteur_siren = env.get("emetteur_siren")
    if emetteur_siren is not None and siren and emetteur_siren != siren:
        out.append(anomalie("EMETTEUR_INCORRECT", f"SIREN « {emetteur_siren[:20]} » au lieu de « {siren} »"))
    if receveur_attendu and env.get("destinataire") and env["destinataire"] != receveur_attendu:
        out.append(anomalie("DESTINATAIRE_INCORRECT", f"attendu « {receveur_attendu} »"))
    elif (receveur_siren_attendu and env.get("destinataire_siren") is not None
          and env["destinataire_siren"] != receveur_siren_attendu):
        out.append(anomalie("DESTINATAIRE_INCORRECT",
                            f"SIREN « {env['destinataire_siren'][:20]} » au lieu de « {receveur_siren_attendu} »"))
    created = env.get("date_creation")
    if created is not None:
        if created > received_at + CREATION_WINDOW_FUTURE:
            out.append(anomalie("DATE_CREATION_FUTURE", date_heure(created, fuseau=True)))
        elif created < received_at - CREATION_WINDOW_PAST:
            out.append(anomalie("DATE_CREATION_ANCIENNE",
                                f"{date_heure(created, fuseau=True)}, plus de "
                                f"{CREATION_WINDOW_PAST.days} jours avant la réception"))
    seq = env.get("numero_sequence")
    if seq is not None and derniere_sequence is not None:
        if seq <= derniere_sequence:
            out.append(anomalie("SEQUENCE_INCORRECTE",
                                f"{seq} reçu, le dernier fichier accepté portait le {derniere_sequence}"))
        elif seq > derniere_sequence + 1:
            out.append(anomalie("SEQUENCE_NON_CONSECUTIVE",
                                f"{seq} reçu après {derniere_sequence}"))
    return out


def check_record_count(annonce: int | None, lus: int) -> list[Anomalie]:
    if annonce is not None and annonce != lus:
        return [anomalie("NOMBRE_ENREGISTREMENTS_INCORRECT", f"{accord(annonce, 'enregistrement annoncé', 'enregistrements annoncés')}, {accord(lus, 'lu')}")]
    return []


def file_outcome(nb_lus: int, nb_acceptes: int, nb_rejetes: int) -> str:
    """TRAITE / TRAITE_PARTIEL / REJETE from record counts."""
    if nb_lus and nb_acceptes == nb_lus:
        return "TRAITE"
    if nb_acceptes:
        return "TRAITE_PARTIEL"
    return "REJETE"


