"""AFAS aggregates for the dashboards: a few GROUP BY queries, no per-row Python work.

Each function takes plain values and returns plain lists of dicts (JSON-able), so the dashboards
never touch AFAS tables themselves.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import case, func, select

from portal.extensions import db

from .models import Acompte, Campagne, Declaration, Equipement
from .schema import EQUIPEMENT_TYPES

TRANSMITTED = ("transmise", "en_instruction", "a_corriger", "validee", "payee")
VALIDATED = ("validee", "payee")


def _opened_campaigns(today: date) -> list[tuple[int, str, date]]:
    """(annee, type_declaration, echeance) of every campaign opened on `today`: one small read
    for what the exercice choice and the progress chart ask (four statements before). Within a
    request it is read once (kept in the request's WSGI environ, which dies with the request:
    not `g`, which a test's app context shares between requests); elsewhere each call reads."""
    from flask import has_request_context, request
    key = f"afas.campagnes_ouvertes.{today.isoformat()}"
    if has_request_context() and key in request.environ:
        return request.environ[key]
    rows = [tuple(r) for r in db.session.execute(
        select(Campagne.annee, Campagne.type_declaration, Campagne.echeance).where(Campagne.ouverture <= today))]
    if has_request_context():
        request.environ[key] = rows
    return rows


def current_exercice(today: date) -> int | None:
    """The exercice of the most recently opened campaign (None when no campaign has opened)."""
    return max((annee for annee, _t, _e in _opened_campaigns(today)), default=None)


def opened_exercices(today: date) -> list[int]:
    """The exercices with a campaign opened on `today`, most recent first (the charts' choice)."""
    return sorted({annee for annee, _t, _e in _opened_campaigns(today)}, reverse=True)


def worked_exercice(today: date) -> int | None:
    """The exercice being worked on: the one of the open campaign (opened, deadline not passed)
    due soonest; when none is open, the most recently opened (`current_exercice`)."""
    open_now = sorted((echeance, annee) for annee, _t, echeance in _opened_campaigns(today) if echeance >= today)
    return open_now[0][1] if open_now else current_exercice(today)


def campaign_progress(annee: int, today: date, organisation_id: int | None = None) -> list[dict]:
    """Per équipement type, for the campaigns of `annee` already opened on `today`:
    expected declarations (active équipements × opened campaigns), transmitted, validated, and late
    (transmitted after the deadline, or still not transmitted once the deadline has passed)."""
    campagnes = [(t, echeance) for a, t, echeance in _opened_campaigns(today) if a == annee]
    opened = len(campagnes)
    overdue_types = [t for t, echeance in campagnes if echeance < today]

    equipements = select(Equipement.type, func.count(Equipement.id)).where(Equipement.actif.is_(True))
    if organisation_id is not None:
        equipements = equipements.where(Equipement.organisation_id == organisation_id)
    counts = dict(db.session.execute(equipements.group_by(Equipement.type)).all())

    transmitted = Declaration.status.in_(TRANSMITTED)
    query = (
        select(Equipement.type,
               func.sum(case((transmitted, 1), else_=0)),
               func.sum(case((Declaration.status.in_(VALIDATED), 1), else_=0)),
               func.sum(case((transmitted & Declaration.late.is_(True), 1), else_=0)),
               func.sum(case((transmitted & Declaration.type.in_(overdue_types or [""]), 1), else_=0)))
        .join(Equipement, Equipement.id == Declaration.equipement_id)
        .where(Declaration.annee == annee, Equipement.actif.is_(True),
               Declaration.type.in_([t for t, _e in campagnes] or [""]))
        .group_by(Equipement.type))
    if organisation_id is not None:
        query = query.where(Equipement.organisation_id == organisation_id)
    rows = {row[0]: [int(v or 0) for v in row[1:]] for row in db.session.execute(query)}

    result = []
    for code in EQUIPEMENT_TYPES:
        n = counts.get(code, 0)
        if not n:
            continue
        sent, validated, sent_late, sent_overdue = rows.get(code, [0, 0, 0, 0])
        missing_overdue = max(n * len(overdue_types) - sent_overdue, 0)
        result.append({"type": code, "expected": n * opened, "transmitted": sent,
                       "late": sent_late + missing_overdue, "validated": validated})
    return result


def droits_by_type(organisation_id: int | None = None, annees: list[int] | None = None) -> list[dict]:
    """Validated droits (last frozen version) summed per exercice and équipement type."""
    query = (select(Declaration.annee, Equipement.type, func.sum(Declaration.droit), func.count())
             .join(Equipement, Equipement.id == Declaration.equipement_id)
             .where(Declaration.status.in_(VALIDATED), Declaration.droit.is_not(None))
             .group_by(Declaration.annee, Equipement.type)
             .order_by(Declaration.annee, Equipement.type))
    if organisation_id is not None:
        query = query.where(Equipement.organisation_id == organisation_id)
    if annees:
        query = query.where(Declaration.annee.in_(annees))
    return [{"annee": annee, "type": type_, "montant": float(total or 0), "declarations": n}
            for annee, type_, total, n in db.session.execute(query)]


def acomptes_by_type(annee: int | None = None, organisation_id: int | None = None) -> list[dict]:
    """Acomptes summed per équipement type and status (programmé, versé, annulé)."""
    query = (select(Equipement.type, Acompte.status, func.sum(Acompte.montant), func.count())
             .join(Equipement, Equipement.id == Acompte.equipement_id)
             .group_by(Equipement.type, Acompte.status).order_by(Equipement.type))
    if annee is not None:
        query = query.where(Acompte.annee == annee)
    if organisation_id is not None:
        query = query.where(Equipement.organisation_id == organisation_id)
    return [{"type": type_, "status": status, "montant": float(total or 0), "nombre": n}
            for type_, status, total, n in db.session.execute(query)]


def declarations_by_status(organisation_id: int, annee: int | None = None) -> list[dict]:
    """An organisation's declarations counted per status (its own progress)."""
    query = (select(Declaration.status, func.count())
             .join(Equipement, Equipement.id == Declaration.equipement_id)
             .where(Equipement.organisation_id == organisation_id)
             .group_by(Declaration.status))
    if annee is not None:
        query = query.where(Declaration.annee == annee)
    return [{"status": status, "nombre": n} for status, n in db.session.execute(query)]
