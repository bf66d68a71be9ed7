"""Versions of a year's barème: every import is kept with who, when and what changed (#21).

`diff_docs` is pure (two documents in, the changed leaves out); `record_version` adds the row and
flushes (services.import_bareme calls it; the caller commits).
"""
from __future__ import annotations

from sqlalchemy import func, select

from portal.extensions import db

from .models import BaremeVersion


def _leaves(node, prefix: str = "") -> dict[str, object]:
    if isinstance(node, dict):
        out: dict[str, object] = {}
        for key, value in node.items():
            out.update(_leaves(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(node, list):
        out = {}
        for i, value in enumerate(node):
            out.update(_leaves(value, f"{prefix}[{i}]"))
        return out or {prefix: []}
    return {prefix: node}


def diff_docs(before: dict | None, after: dict) -> list[dict]:
    """Every leaf whose value differs, sorted by key: {"cle", "avant", "apres"} (None: absent)."""
    old, new = _leaves(before or {}), _leaves(after)
    return [{"cle": k, "avant": old.get(k), "apres": new.get(k)}
            for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


def record_version(doc: dict, replaced, actor, source: str = "") -> BaremeVersion:
    """A new numbered version of doc's year; `replaced` is the Bareme in use until now (a shipped
    file or an earlier import), the diff is taken against it."""
    annee = doc["annee"]
    numero = (db.session.scalar(select(func.max(BaremeVersion.numero)).where(BaremeVersion.annee == annee)) or 0) + 1
    before = replaced.doc if replaced is not None and replaced.annee == annee else None
    row = BaremeVersion(annee=annee, numero=numero, doc=doc, diff=diff_docs(before, doc),
                        imported_by_id=getattr(actor, "id", None), source=(source or "")[:200])
    db.session.add(row)
    db.session.flush()
    return row


def versions_of(annee: int) -> list[BaremeVersion]:
    return list(db.session.scalars(select(BaremeVersion).where(BaremeVersion.annee == annee)
                                   .order_by(BaremeVersion.numero.desc())))
