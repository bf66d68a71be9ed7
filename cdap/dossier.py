"""Build the view of a file for a profile: only the sections, rows and fields the policy
table (`cdap.policy`) allows are read from the database and put in the result.

The result is plain data (JSON-able): the HTML page, the print view and the API all render it
and nothing else. Amounts are integer cents, dates ISO strings.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from portal.extensions import db

from .models import (AIDES_LOGEMENT, Allocataire, Droit, Logement, LoyerHistorique, Membre, Paiement,
                     QuotientFamilial, SignalementImpaye, tiers_payant_en_cours)
from .loyers import current_rents, latest_in
from .policy import POLICY, SECTIONS, SectionRule
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


def build_view(allocataire_id: int, profile_name: str, *, code_bailleur: str | None = None,
               today: date | None = None) -> dict:
    """Column queries (no ORM objects: this runs on every consultation), one per section the
    profile may see, and one for the rent history of all the shown dwellings."""
    today = today or paris_today()
    policy = POLICY[profile_name]
    rules = policy.sections
    view: dict = {"profil": profile_name, "sections": [s for s in SECTIONS if s in rules]}
    run = db.session.execute
    A = Allocataire

    if "identite" in rules or "adresse" in rules:
        a = run(select(A.numero, A.nom, A.prenom, A.date_naissance, A.situation_familiale, A.adresse,
                       A.code_postal, A.commune).where(A.id == allocataire_id)).mappings().one()
        if "identite" in rules:
            view["identite"] = _pick(rules["identite"], a)
        if "adresse" in rules:
            view["adresse"] = _pick(rules["adresse"], a)
    if "foyer" in rules:
        rule = rules["foyer"]
        membres = run(select(Membre.role, Membre.nom, Membre.prenom, Membre.date_naissance, Membre.a_charge)
                      .where(Membre.allocataire_id == allocataire_id).order_by(Membre.date_naissance))
        foyer: dict = {"enfants": []}
        for m in membres:
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
        query = select(QuotientFamilial.mois, QuotientFamilial.qf).where(
            QuotientFamilial.allocataire_id == allocataire_id)
        window = _window(rule, today)
        if window:
            query = query.where(QuotientFamilial.mois >= window[0], QuotientFamilial.mois < window[1])
        view["quotient_familial"] = [_pick(rule, {"mois": m.strftime("%Y-%m"), "qf": qf})
                                     for m, qf in run(query.order_by(QuotientFamilial.mois))]
    if "droits" in rules:
        rule = rules["droits"]
        query = select(Droit.prestation, Droit.montant_cents, Droit.date_debut, Droit.date_fin,
                       Droit.statut).where(Droit.allocataire_id == allocataire_id)
        if rule.rows == "aides_logement":
            query = query.where(Droit.prestation.in_(sorted(AIDES_LOGEMENT)))
        view["droits"] = [_pick(rule, {"prestation": d.prestation, "montant": d.montant_cents,
                                       "date_debut": d.date_debut, "date_fin": d.date_fin, "statut": d.statut})
                          for d in run(query.order_by(Droit.date_debut.desc(), Droit.prestation))]
    if "paiements" in rules:
        rule = rules["paiements"]
        query = select(Paiement.mois, Paiement.prestation, Paiement.montant_cents, Paiement.date_paiement,
                       Paiement.beneficiaire).where(Paiement.allocataire_id == allocataire_id)
        if rule.rows == "aides_logement":
            query = query.where(Paiement.prestation.in_(sorted(AIDES_LOGEMENT)))
        elif rule.rows == "bailleur_propre":
            query = query.where(Paiement.beneficiaire == "bailleur", Paiement.code_bailleur == (code_bailleur or ""))
        window = _window(rule, today)
        if window:
            query = query.where(Paiement.mois >= window[0], Paiement.mois < window[1])
        view["paiements"] = [_pick(rule, {"mois": p.mois.strftime("%Y-%m"), "prestation": p.prestation,
                                          "montant": p.montant_cents, "date_paiement": p.date_paiement,
                                          "beneficiaire": p.beneficiaire})
                             for p in run(query.order_by(Paiement.mois.desc(), Paiement.prestation))]
    if "logement" in rules:
        rule = rules["logement"]
        L = Logement
        query = select(L.id, L.code_bailleur, L.code_locataire, L.loyer_cents, L.charges_cents,
                       L.nb_colocataires, L.date_entree, L.date_sortie, L.tiers_payant
                       ).where(L.allocataire_id == allocataire_id)
        if rule.rows == "bailleur_propre":
            query = query.where(L.code_bailleur == (code_bailleur or ""))
        logements = run(query.order_by(L.date_entree.desc())).all()
        history: dict[int, list] = {lg.id: [] for lg in logements}
        latest = None
        if "historique_loyers" in rule.fields and logements:
            # every history row of the dwellings is read for the section: the current rent is
            # taken from them (cdap.loyers.latest_in) instead of a second query on the same rows
            H = LoyerHistorique
            rows_h = run(select(H.id, H.logement_id, H.date_effet, H.loyer_cents, H.charges_cents,
                                H.nb_colocataires)
                         .where(H.logement_id.in_(list(history)))
                         .order_by(H.logement_id, H.date_effet.desc(), H.id.desc())).all()
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
        S = SignalementImpaye
        query = select(S.date_signalement, S.date_constitution, S.montant_dette_cents, S.loyer_mensuel_cents,
                       S.periode_debut, S.periode_fin, S.plan_apurement, S.date_limite_plan, S.maintien_aide,
                       S.statut).where(S.allocataire_id == allocataire_id)
        if rule.rows == "bailleur_propre":
            query = query.where(S.code_bailleur == (code_bailleur or ""))
        view["impayes"] = [_pick(rule, {
            "date_signalement": s.date_signalement, "date_constitution": s.date_constitution,
            "montant_dette": s.montant_dette_cents, "loyer_mensuel": s.loyer_mensuel_cents,
            "periode": f"{_iso(s.periode_debut) or '?'}/{_iso(s.periode_fin) or '?'}",
            "plan_apurement": s.plan_apurement, "date_limite_plan": s.date_limite_plan,
            "maintien_aide": s.maintien_aide, "statut": s.statut})
            for s in run(query.order_by(S.date_signalement.desc()))]
    return view
