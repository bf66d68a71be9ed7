"""Consultation journal: one hash-chained row per attempt (see `portal.chain`).

No names: the file is referenced by HMAC-SHA256(app secret, numéro allocataire), so the
journal of one allocataire can be found again from the numéro, but the journal alone does
not reveal who was consulted.
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from portal import chain
from portal.extensions import db
from portal.models import utcnow

from . import atypical
from .models import ConsultationJournal

OUTCOMES = {
    "found": "Dossier affiché",
    "not_found": "Aucun dossier",
    "out_of_scope": "Hors périmètre",
    "refused_motif": "Refusé : motif manquant",
    "invalid_input": "Refusé : saisie invalide",
    # the attempt that crossed a suspension threshold of the atypical-use rules: nothing shown
    "suspended": "Refusé : habilitation suspendue",
    # a read of an unpaid-rent case (cdap.situations.access.journal_read)
    "suivi_lu": "Situation d'impayé lue",
}
# What a partner sees: "hors périmètre" is never disclosed outside the Caf.
PARTNER_OUTCOMES = {**OUTCOMES, "out_of_scope": OUTCOMES["not_found"]}
CHANNELS = {"web": "Écran", "impression": "Impression", "api": "API"}


def reference(numero: str, secret: str) -> str:
    return hmac.new(secret.encode(), b"cdap:" + numero.encode(), hashlib.sha256).hexdigest()


def record(*, user_id, api_token_id, organisation_id, profile, reference, categories, motif,
           commentaire, channel, outcome, request_id, at=None, counter: dict | None = None) -> int:
    """Append the attempt's row to the chain (Core statements, `portal.chain.append_values`:
    this runs on every consultation) and count it in the actor's usage counter, in the same
    statement on PostgreSQL; return its id. The caller commits.

    `counter`: `atypical.counter_params` for this attempt when the caller read the actor's
    counts already (a consultation); else they are read here."""
    at = at or utcnow()
    if counter is None:
        settings = current_app.config["CDAP_SETTINGS"]
        before = atypical.counts(user_id, api_token_id, at, settings)
        counter = atypical.counter_params(user_id, api_token_id, at, settings, before, outcome)
    counter = dict(counter)
    seed = counter.pop("counter_seed", None)
    if seed is not None:
        atypical.create_counter(seed)
    return chain.append_values(ConsultationJournal, dict(
        at=at, user_id=user_id, api_token_id=api_token_id, organisation_id=organisation_id,
        profile=profile, reference=reference, categories=list(categories), motif=motif,
        commentaire=(commentaire or None) and commentaire[:300], channel=channel, outcome=outcome,
        request_id=request_id), also=atypical.counter_update, also_params=counter)


def verify() -> chain.ChainReport:
    return chain.verify_chain(ConsultationJournal)


def purge(retention_months: int) -> int:
    if not 1 <= retention_months <= 60:
        raise ValueError("la durée de conservation doit être comprise entre 1 et 60 mois")
    cutoff = utcnow() - timedelta(days=30 * retention_months)
    return chain.purge_before(ConsultationJournal, cutoff)


def rows_for(*, user_id=None, organisation_id=None, ref=None, limit=200):
    query = select(ConsultationJournal).order_by(ConsultationJournal.seq.desc()).limit(limit)
    if user_id is not None:
        query = query.where(ConsultationJournal.user_id == user_id)
    if organisation_id is not None:
        query = query.where(ConsultationJournal.organisation_id == organisation_id)
    if ref is not None:
        query = query.where(ConsultationJournal.reference == ref)
    return db.session.scalars(query).all()
