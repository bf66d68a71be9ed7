"""Build the view of a file for a profile: only the sections, rows and fields the policy
table (`cdap.policy`) allows are read from the database and put in the result.

The result is plain data (JSON-able): the HTML page, the print view and the API all render it
and nothing else. Amounts are integer cents, dates ISO strings.

This runs on every consultation (issue #22): each section the profile may see is a Core select
on its table (`_statements`, built **once per profile**: the policy table is fixed at import),
with bound parameters for the file, the landlord's code and the history window; they are run
together as one statement (`cdap.dossier_query`: each section a JSON column of the
allocataire's row) on the session's connection: one round trip, no ORM object, no statement
construction per request. Each select reads only the columns the profile's fields need (the
identity row: only the identity and address columns the profile may see).
"""
from __future__ import annotations

from datetime import date
from functools import lru_cache

from sqlalchemy import bindparam, select

from portal.extensions import db

from .models import (AIDES_LOGEMENT, Allocataire, Droit, Logement, LoyerHistorique, Membre, Paiement,
                     QuotientFamilial, SignalementImpaye, tiers_payant_en_cours)
from .dossier_query import decode, one_statement
from .loyers import current_rents, latest_in
from .policy import FIELDS, POLICY, SECTIONS, SectionRule
from portal.dates import add_months
from portal.dates import today as paris_today

IMPAYE_STATUTS = {"signale": "Signalé", "plan": "Plan d'apurement", "resolu": "Résolu"}


def _iso(value):
    return value.isoformat() if isinstance(value, date) else value


def _pick(rule: SectionRule, values: dict) -> dict:
    return {f: _iso(values[f]) for f in rule.fields if f in values}


def _window(rule: SectionRule, today: date) -> tuple[date, date] | None:
    """[first, end) months of "the last N months": exactly the N completed months before the
    current one. The current month does not count and is not shown: the Caf's extract holds
    closed months (a month's benefits are paid early the next month, cdap.generator), so its
    row, when there is one, is not final yet. In December 2026, 12 months run from December
    2025 to November 2026. None: no limit (the whole history)."""
    if rule.months is None:
        return None
    current = date(today.year, today.month, 1)
    return add_months(current, -rule.months), current


AID = bindparam("aid")
CODE_BAILLEUR = bindparam("cb")
IDENTITY_COLUMNS = tuple(FIELDS["identite"]) + tuple(FIELDS["adresse"])


@lru_cache(maxsize=None)
def _statements(profile_name: str) -> dict:
    """Section name -> Core select of that section for the profile (bound parameters: `aid`,
    `cb` for the landlord's own rows, `<section>_from` / `<section>_to` for a history window)."""
    rules = POLICY[profile_name].sections
    out: dict = {}
    A = Allocataire.__table__.c
    shown = [f for s in ("identite", "adresse") if s in rules for f in rules[s].fields]
    if shown:
        out["allocataire"] = select(*[A[f] for f in IDENTITY_COLUMNS if f in shown]).where(A.id == AID)
    if "foyer" in rules:
        M = Membre.__table__.c
        out["foyer"] = (select(M.role, M.nom, M.prenom, M.date_naissance, M.a_charge)
                        .where(M.allocataire_id == AID).order_by(M.date_naissance))
    if "quotient_familial" in rules:
        Q = QuotientFamilial.__table__.c
        query = select(Q.mois, Q.qf).where(Q.allocataire_id == AID)
        if rules["quotient_familial"].months is not None:
            query = query.where(Q.mois >= bindparam("quotient_familial_from"),
                                Q.mois < bindparam("quotient_familial_to"))
        out["quotient_familial"] = query.order_by(Q.mois)
    if "droits" in rules:
        D = Droit.__table__.c
        query = select(D.prestation, D.montant_cents, D.date_debut, D.date_fin, D.statut).where(
            D.allocataire_id == AID)
        if rules["droits"].rows == "aides_logement":
            query = query.where(D.prestation.in_(sorted(AIDES_LOGEMENT)))
        out["droits"] = query.order_by(D.date_debut.desc(), D.prestation)
    if "paiements" in rules:
        rule, P = rules["paiements"], Paiement.__table__.c
        query = select(P.mois, P.prestation, P.montant_cents, P.date_paiement, P.beneficiaire).where(
            P.allocataire_id == AID)
        if rule.rows == "aides_logement":
            query = query.where(P.prestation.in_(sorted(AIDES_LOGEMENT)))
        elif rule.rows == "bailleur_propre":
            query = query.where(P.beneficiaire == "bailleur", P.code_bailleur == CODE_BAILLEUR)
        if rule.months is not None:
            query = query.where(P.mois >= bindparam("paiements_from"), P.mois < bindparam("paiements_to"))
        out["paiements"] = query.order_by(P.mois.desc(), P.prestation)
    if "logement" in rules:
        rule, L = rules["logement"], Logement.__table__.c
        query = select(L.id, L.code_bailleur, L.code_locataire, L.loyer_cents, L.charges_cents,
                       L.nb_colocataires, L.date_entree, L.date_sortie, L.tiers_payant).where(
            L.allocataire_id == AID)
        if rule.rows == "bailleur_propre":
            query = query.where(L.code_bailleur == CODE_BAILLEUR)
        out["logement"] = query.order_by(L.date_entree.desc())
        if "historique_loyers" in rule.fields:
            # every history row of the shown dwellings (the same filter, as a subquery)
            H = LoyerHistorique.__table__.c
            shown = out["logement"].with_only_columns(L.id).order_by(None).scalar_subquery()
            out["loyers"] = (select(H.id, H.logement_id, H.date_effet, H.loyer_cents, H.charges_cents,
                                    H.nb_colocataires)
                             .where(H.logement_id.in_(shown))
                             .order_by(H.logement_id, H.date_effet.desc(), H.id.desc()))
    if "impayes" in rules:
        S = SignalementImpaye.__table__.c
        query = select(S.date_signalement, S.date_constitution, S.montant_dette_cents, S.loyer_mensuel_cents,
                       S.periode_debut, S.periode_fin, S.plan_apurement, S.date_limite_plan, S.maintien_aide,
                       S.statut).where(S.allocataire_id == AID)
        if rules["impayes"].rows == "bailleur_propre":
            query = query.where(S.code_bailleur == CODE_BAILLEUR)
        out["impayes"] = query.order_by(S.date_signalement.desc())
    return out


def build_view(allocataire_id: int, profile_name: str, *, code_bailleur: str | None = None,
               today: date | None = None) -> dict:
    """The profile's sections read in one statement (`cdap.dossier_query.one_statement`: the
    selects of `_statements` as JSON columns of one row), shaped into the view."""
    today = today or paris_today()
    policy = POLICY[profile_name]
    rules = policy.sections
    view: dict = {"profil": profile_name, "sections": [s for s in SECTIONS if s in rules]}
    params = {"aid": allocataire_id, "cb": code_bailleur or ""}
    for section in ("quotient_familial", "paiements"):
        window = _window(rules[section], today) if section in rules else None
        if window:
            params[f"{section}_from"], params[f"{section}_to"] = window
    conn = db.session.connection()
    dialect = conn.dialect.name
    a = conn.execute(one_statement(profile_name, dialect), params).mappings().one()

    def run(name: str) -> list:
        return decode(name, profile_name, dialect, a[name])

    if "identite" in rules:
        view["identite"] = _pick(rules["identite"], a)
    if "adresse" in rules:
        view["adresse"] = _pick(rules["adresse"], a)
    if "foyer" in rules:
        rule = rules["foyer"]
        foyer: dict = {"enfants": []}
        for m in run("foyer"):
            if m.role == "conjoint":
                conjoint = _pick(rule, {"conjoint_nom": m.nom, "conjoint_prenom": m.prenom,
                                        "conjoint_date_naissance": m.date_naissance})
                if conjoint and rule.rows == "all":
                    foyer["conjoint"] = conjoint
            elif rule.rows == "all" or m.a_charge:
                enfant = _pick(rule, {"enfant_prenom": m.prenom, "enfant_nom": m.nom,
                                      "enfant_date_naissance": m.date_naissance,
                                      "enfant_a_charge": m.a_charge})
                if enfant:
                    foyer["enfants"].append(enfant)
        view["foyer"] = foyer
    if "quotient_familial" in rules:
        rule = rules["quotient_familial"]
        view["quotient_familial"] = [_pick(rule, {"mois": m.isoformat()[:7], "qf": qf})
                                     for m, qf in run("quotient_familial")]
    if "droits" in rules:
        rule = rules["droits"]
        view["droits"] = [_pick(rule, {"prestation": d.prestation, "montant": d.montant_cents,
                                       "date_debut": d.date_debut, "date_fin": d.date_fin, "statut": d.statut})
                          for d in run("droits")]
    if "paiements" in rules:
        rule = rules["paiements"]
        view["paiements"] = [_pick(rule, {"mois": p.mois.isoformat()[:7], "prestation": p.prestation,
                                          "montant": p.montant_cents, "date_paiement": p.date_paiement,
                                          "beneficiaire": p.beneficiaire})
                             for p in run("paiements")]
    if "logement" in rules:
        rule = rules["logement"]
        logements = run("logement")
        history: dict[int, list] = {lg.id: [] for lg in logements}
        latest = None
        if "historique_loyers" in rule.fields and logements:
            # every history row of the dwellings is read for the section: the current rent is
            # taken from them (cdap.loyers.latest_in) instead of a second query on the same rows
            rows_h = run("loyers")
            for h in rows_h:
                history[h.logement_id].append({"date_effet": h.date_effet.isoformat(), "loyer": h.loyer_cents,
                                               "charges": h.charges_cents})
            latest = latest_in(rows_h, today)
        rents = (current_rents(logements, today, latest=latest)
                 if {"loyer", "charges", "nb_colocataires"} & set(rule.fields) and logements else {})
        rows = []
        for lg in logements:
            rent = rents.get(lg.id) or {}
            values = {"code_bailleur": lg.code_bailleur, "code_locataire": lg.code_locataire,
                      "loyer": rent.get("loyer_cents"), "charges": rent.get("charges_cents"),
                      "nb_colocataires": rent.get("nb_colocataires"), "date_entree": lg.date_entree,
                      "date_sortie": lg.date_sortie,
                      "tiers_payant": tiers_payant_en_cours(lg.tiers_payant, lg.date_sortie, today),
                      "historique_loyers": history[lg.id]}
            rows.append(_pick(rule, values))
        view["logement"] = rows
    if "impayes" in rules:
        rule = rules["impayes"]
        view["impayes"] = [_pick(rule, {
            "date_signalement": s.date_signalement, "date_constitution": s.date_constitution,
            "montant_dette": s.montant_dette_cents, "loyer_mensuel": s.loyer_mensuel_cents,
            "periode": f"{_iso(s.periode_debut) or '?'}/{_iso(s.periode_fin) or '?'}",
            "plan_apurement": s.plan_apurement, "date_limite_plan": s.date_limite_plan,
            "maintien_aide": s.maintien_aide, "statut": s.statut})
            for s in run("impayes")]
    return view
