"""The current rent of a dwelling: its latest rent history row in effect (date d'effet reached;
latest by date d'effet, then id), or the rent recorded with the tenancy when none is in effect yet.
A rent a landlord announces for a later date becomes current on that date.

Landlords' LOYERS files only add history rows; nothing rewrites the dwelling, so a large file
costs one insert per record. Readers go through `current_rents`.
"""
from __future__ import annotations

from datetime import date
from typing import Iterable

from sqlalchemy import func, select

from portal.extensions import db

from .models import Logement, LoyerHistorique
from portal.dates import today as paris_today

CHUNK = 5000


def latest_history(logement_ids: Iterable[int], today: date | None = None) -> dict[int, dict]:
    """logement_id -> {loyer_cents, charges_cents, nb_colocataires, date_effet} of its latest
    history row in effect on `today`, for the dwellings that have one (one indexed query per
    chunk of ids)."""
    ids = sorted(set(logement_ids))
    today = today or paris_today()
    out: dict[int, dict] = {}
    H = LoyerHistorique
    for i in range(0, len(ids), CHUNK):
        ranked = (select(H.logement_id, H.loyer_cents, H.charges_cents, H.nb_colocataires,
                         H.date_effet,
                         func.row_number().over(partition_by=H.logement_id,
                                                order_by=(H.date_effet.desc(), H.id.desc())).label("n"))
                  .where(H.logement_id.in_(ids[i:i + CHUNK]), H.date_effet <= today).subquery())
        for lid, loyer, charges, coloc, effet in db.session.execute(
                select(ranked.c.logement_id, ranked.c.loyer_cents, ranked.c.charges_cents,
                       ranked.c.nb_colocataires, ranked.c.date_effet).where(ranked.c.n == 1)):
            out[lid] = {"loyer_cents": loyer, "charges_cents": charges, "nb_colocataires": coloc,
                        "date_effet": effet}
    return out


def latest_in(history: Iterable, today: date) -> dict[int, dict]:
    """`latest_history` computed from history rows already read (each with `id`, `logement_id`,
    `date_effet`, `loyer_cents`, `charges_cents`, `nb_colocataires`): the same choice, without
    a query, when the caller has read every history row of the dwellings anyway."""
    best: dict[int, tuple] = {}
    for h in history:
        if h.date_effet > today:
            continue
        key = (h.date_effet, h.id)
        if h.logement_id not in best or key > best[h.logement_id][0]:
            best[h.logement_id] = (key, h)
    return {lid: {"loyer_cents": h.loyer_cents, "charges_cents": h.charges_cents,
                  "nb_colocataires": h.nb_colocataires, "date_effet": h.date_effet}
            for lid, (_key, h) in best.items()}


def current_rents(logements: Iterable, today: date | None = None, *,
                  latest: dict[int, dict] | None = None) -> dict[int, dict]:
    """logement id -> current {loyer_cents, charges_cents, nb_colocataires} for rows that have
    `id`, `loyer_cents`, `charges_cents` and `nb_colocataires` (ORM objects or result rows).
    `latest`: the dwellings' `latest_in` when the caller has it (no query then)."""
    logements = list(logements)
    if latest is None:
        latest = latest_history((lg.id for lg in logements), today)
    out = {}
    for lg in logements:
        h = latest.get(lg.id)
        out[lg.id] = ({"loyer_cents": h["loyer_cents"], "charges_cents": h["charges_cents"],
                       "nb_colocataires": h["nb_colocataires"]} if h else
                      {"loyer_cents": lg.loyer_cents, "charges_cents": lg.charges_cents,
                       "nb_colocataires": lg.nb_colocataires})
    return out


def current_rent(logement: Logement, today: date | None = None) -> dict:
    """`current_rents` for one dwelling."""
    return current_rents([logement], today)[logement.id]
