"""Droit (Caf funding) of a declaration, acomptes and régularisation — docs/domaine.md §2. Pure.

    EAJE (PSU): (taux × min(prix de revient horaire, plafond) × heures réalisées
                 − participations familiales) × taux régime général  + bonus mixité sociale
        plafond: constant up to the low taux de facturation threshold (107 %), linear down to
        the floor between 107 % and 120 %, the floor from 120 % (barèmes since 2025).
    ALSH: taux × min(prix de revient par acte, plafond) × actes × taux régime général
    RPE:  taux × min(charges, plafond par ETP × ETP) + bonus missions renforcées
    LAEP: taux × min(prix de revient horaire, plafond) × (heures d'ouverture + d'organisation)

Every result carries the step-by-step explanation with the figures, and the formula's cap
(the droit with the prix de revient at the plafond), which the droit never exceeds.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from portal.formatting import euros, nombre

from . import bonus
from .bareme import Bareme
from .schema import labels_for
from portal.dates import today as paris_today


eur = euros  # the step-by-step texts' short names for portal.formatting's helpers
num = nombre


def pct(x: float) -> str:
    return num(x * 100, 2) + " %"


def cents(x: float) -> float:
    return round(x + 0.0, 2)


@dataclass
class Step:
    label: str
    detail: str
    value: str

    def as_dict(self) -> dict:
        return {"libelle": self.label, "calcul": self.detail, "valeur": self.value}


@dataclass
class DroitResult:
    montant: float | None             # None when inputs are missing
    plafond_formule: float | None     # cap: the droit with the prix de revient at the plafond
    formule: str
    etapes: list[Step] = field(default_factory=list)
    manquants: list[str] = field(default_factory=list)
    indicateurs: dict = field(default_factory=dict)   # prix de revient, taux de facturation...
    bareme: str = ""

    def as_dict(self) -> dict:
        return {"montant": self.montant, "plafond_formule": self.plafond_formule,
                "formule": self.formule, "etapes": [s.as_dict() for s in self.etapes],
                "manquants": self.manquants, "indicateurs": self.indicateurs, "bareme": self.bareme}


FORMULES = {
    "EAJE": "droit = (taux × min(prix de revient horaire, plafond) × heures réalisées − participations "
            "familiales) × taux régime général + bonus mixité sociale",
    "ALSH": "droit = taux × min(prix de revient par acte, plafond) × actes réalisés × taux régime général "
            "+ bonification plan mercredi",
    "RPE": "droit = taux × min(charges, plafond par ETP × ETP) + bonus missions renforcées",
    "LAEP": "droit = taux × min(prix de revient horaire, plafond) × (heures d'ouverture + heures d'organisation)",
}  # types without an entry here take their formula from the barème (see _par_unite)

NEEDED = {
    "EAJE": ("heures_realisees", "heures_facturees", "participations_familiales", "total_charges",
             "taux_regime_general", "places_agreees"),
    "ALSH": ("heures_realisees", "total_charges", "taux_regime_general"),
    "RPE": ("etp_animateur", "total_charges"),
    "LAEP": ("heures_ouverture", "heures_organisation", "total_charges"),
}


def eaje_plafond(bareme: Bareme, couches_repas: bool, taux_facturation: float | None) -> tuple[float, str]:
    """Prix plafond horaire for a taux de facturation, by the rule of the barème's year: bands
    (2014–2024: ≤ 107 %, 107–117 %, > 117 %, a plafond per band) or linear (since 2025)."""
    variant = "avec_couches_repas" if couches_repas else "sans_couches_repas"
    eaje = bareme["eaje"]
    ceiling = float(eaje["prix_plafond_horaire"][variant])
    rule = eaje.get("taux_facturation")
    if not rule or taux_facturation is None:
        return ceiling, f"plafond {eur(ceiling)}/h ({variant.replace('_', ' ')})"
    if rule.get("regle") == "tranches":
        return _plafond_tranche(rule["tranches"], variant, taux_facturation)
    low, high = float(rule["seuil_bas"]), float(rule["seuil_haut"])
    floor = float(rule["prix_plancher_horaire"][variant])
    if taux_facturation <= low:
        return ceiling, (f"taux de facturation {pct(taux_facturation)} ≤ {pct(low)} : "
                         f"plafond plein {eur(ceiling)}/h")
    if taux_facturation >= high:
        return floor, (f"taux de facturation {pct(taux_facturation)} ≥ {pct(high)} : "
                       f"plancher {eur(floor)}/h")
    value = ceiling - (ceiling - floor) * (taux_facturation - low) / (high - low)
    return value, (f"taux de facturation {pct(taux_facturation)} entre {pct(low)} et {pct(high)} : "
                   f"{eur(ceiling)} − ({eur(ceiling)} − {eur(floor)}) × ({pct(taux_facturation)} − "
                   f"{pct(low)}) ÷ ({pct(high)} − {pct(low)}) = {num(value, 4)} €/h")


def _plafond_tranche(tranches: list, variant: str, tf: float) -> tuple[float, str]:
    """The first band whose upper bound (inclusive) the taux reaches; the last band is open."""
    lower = None
    for band in tranches:
        top = band.get("taux_max")
        if top is None or tf <= float(top):
            value = float(band["prix_plafond_horaire"][variant])
            if lower is None:
                where = f"≤ {pct(float(top))}"
            elif top is None:
                where = f"> {pct(lower)}"
            else:
                where = f"entre {pct(lower)} et {pct(float(top))}"
            return value, (f"taux de facturation {pct(tf)} {where} : plafond de la tranche "
                           f"{eur(value)}/h ({variant.replace('_', ' ')})")
        lower = float(top)
    raise ValueError("barème : la dernière tranche doit être ouverte")  # validate_bareme prevents it


def bonus_mixite(bareme: Bareme, participation_horaire: float | None) -> float:
    return bonus.mixite_par_place(bareme["eaje"], participation_horaire)


def _f(values: dict, key: str) -> float:
    v = values.get(key)
    return float(v) if v is not None else 0.0


def _eaje(v: dict, b: Bareme, r: DroitResult, ctx: dict) -> None:
    e = b["eaje"]
    taux = float(e["taux_prise_en_charge"])
    heures, facturees = _f(v, "heures_realisees"), _f(v, "heures_facturees")
    charges, participations = _f(v, "total_charges"), _f(v, "participations_familiales")
    trg = _f(v, "taux_regime_general") / 100
    places = _f(v, "places_agreees")
    couches = bool(v.get("couches_repas"))
    prix = charges / heures if heures > 0 else 0.0
    tf = facturees / heures if heures > 0 else None
    plafond, why = eaje_plafond(b, couches, tf)
    retenu = min(prix, plafond)
    base = taux * retenu * heures - participations
    psu = max(0.0, base) * trg
    part_h = participations / facturees if facturees > 0 else None
    per_place = bonus_mixite(b, part_h)
    mixite = per_place * places * trg
    handicap_rate, handicap_why = bonus.handicap_par_place(e, _f(v, "enfants_inscrits"), _f(v, "enfants_aeeh"))
    handicap = handicap_rate * places * trg
    terr_rate, terr_places, terr_why = bonus.territoire_par_place(e, ctx.get("territoire"))
    territoire = terr_rate * terr_places * trg
    ceiling_plafond = float(e["prix_plafond_horaire"]["avec_couches_repas" if couches else "sans_couches_repas"])
    max_bonus = max((float(t["montant_par_place"]) for t in e["bonus_mixite_sociale"]), default=0.0)
    max_handicap = max((float(t["montant_par_place"]) for t in
                        (e.get("bonus_inclusion_handicap") or {}).get("paliers", [])), default=0.0)
    r.plafond_formule = cents(max(0.0, taux * ceiling_plafond * heures) * trg
                              + (max_bonus + max_handicap) * places * trg + territoire)
    r.indicateurs = {"prix_revient": round(prix, 4), "prix_revient_libelle": "prix de revient horaire",
                     "taux_facturation": tf,
                     "prix_plafond_horaire": round(plafond, 4), "participation_horaire_moyenne": part_h}
    r.etapes += [
        Step("Prix de revient horaire", f"{eur(charges)} de charges ÷ {num(heures)} h réalisées", f"{num(prix, 4)} €/h"),
        Step("Taux de facturation", "aucune heure réalisée" if tf is None else
             f"{num(facturees)} h facturées ÷ {num(heures)} h réalisées", "—" if tf is None else pct(tf)),
        Step("Prix plafond horaire", why, f"{num(plafond, 4)} €/h"),
        Step("Prix retenu", f"min({num(prix, 4)} ; {num(plafond, 4)})", f"{num(retenu, 4)} €/h"),
        Step("Base PSU", f"{pct(taux)} × {num(retenu, 4)} €/h × {num(heures)} h − {eur(participations)} "
             f"de participations familiales" + (" (négatif : ramené à 0)" if base < 0 else ""), eur(max(0.0, base))),
        Step("Prestation de service", f"{eur(max(0.0, base))} × {pct(trg)} de ressortissants du régime général", eur(psu)),
        Step("Bonus mixité sociale",
             ("participation horaire moyenne non calculable (aucune heure facturée)" if part_h is None else
              f"participation moyenne {eur(part_h)}/h → {eur(per_place)} par place × {num(places)} places × {pct(trg)}"),
             eur(mixite)),
        Step("Bonus inclusion handicap",
             f"{handicap_why} × {num(places)} places × {pct(trg)}" if handicap_rate else handicap_why, eur(handicap)),
        Step("Bonus territoire", f"{terr_why} × {pct(trg)}" if terr_rate else terr_why, eur(territoire)),
    ]
    r.montant = cents(psu + mixite + handicap + territoire)
    r.etapes.append(Step("Droit", f"{eur(psu)} + {eur(mixite)} + {eur(handicap)} + {eur(territoire)}",
                         eur(r.montant)))


def _alsh(v: dict, b: Bareme, r: DroitResult, ctx: dict) -> None:
    a = b["alsh"]
    taux, plafond = float(a["taux_prise_en_charge"]), float(a["prix_plafond_acte"])
    actes, charges, trg = _f(v, "heures_realisees"), _f(v, "total_charges"), _f(v, "taux_regime_general") / 100
    prix = charges / actes if actes > 0 else 0.0
    retenu = min(prix, plafond)
    base = taux * retenu * actes * trg
    bonif, _, _, bonif_why = bonus.plan_mercredi(a, v)
    mercredi = bonif * trg
    r.plafond_formule = cents(taux * plafond * actes * trg + mercredi)
    r.indicateurs = {"prix_revient": round(prix, 4), "prix_revient_libelle": "prix de revient par acte"}
    r.montant = cents(base + mercredi)
    r.etapes += [
        Step("Prix de revient par acte", f"{eur(charges)} ÷ {num(actes)} actes", f"{num(prix, 4)} €"),
        Step("Prix retenu", f"min({num(prix, 4)} ; plafond {eur(plafond)})", f"{num(retenu, 4)} €"),
        Step("Prestation de service", f"{pct(taux)} × {num(retenu, 4)} € × {num(actes)} actes × {pct(trg)} de "
             "ressortissants du régime général", eur(base)),
        Step("Bonification plan mercredi", f"{bonif_why} × {pct(trg)}" if bonif else bonif_why, eur(mercredi)),
        Step("Droit", f"{eur(base)} + {eur(mercredi)}", eur(r.montant)),
    ]


def _rpe(v: dict, b: Bareme, r: DroitResult, ctx: dict) -> None:
    p = b["rpe"]
    taux, par_etp, bonus_rate = float(p["taux_prise_en_charge"]), float(p["plafond_par_etp"]), float(p["bonus_missions_renforcees"])
    etp, charges = _f(v, "etp_animateur"), _f(v, "total_charges")
    plafond = par_etp * etp
    retenu = min(charges, plafond)
    # missions renforcées need an animateur: with no ETP the bonus is refused (RPE-MISSIONS-SANS-ETP)
    bonus = bonus_rate if v.get("missions_renforcees") and etp > 0 else 0.0
    base = taux * retenu
    r.plafond_formule = cents(taux * plafond + (bonus_rate if etp > 0 else 0.0))
    r.indicateurs = {"plafond_charges": round(plafond, 2), "prix_revient_libelle": "coût par ETP",
                     "prix_revient": round(charges / etp, 4) if etp > 0 else 0.0}
    r.montant = cents(base + bonus)
    r.etapes += [
        Step("Plafond des charges", f"{eur(par_etp)} par ETP × {num(etp)} ETP", eur(plafond)),
        Step("Charges retenues", f"min({eur(charges)} ; {eur(plafond)})", eur(retenu)),
        Step("Prestation de service", f"{pct(taux)} × {eur(retenu)}", eur(base)),
        Step("Bonus missions renforcées", "missions renforcées déclarées" if bonus else (
            "missions renforcées déclarées sans ETP d'animateur : pas de bonus" if v.get("missions_renforcees")
            else "pas de missions renforcées"), eur(bonus)),
        Step("Droit", f"{eur(base)} + {eur(bonus)}", eur(r.montant)),
    ]


def _laep(v: dict, b: Bareme, r: DroitResult, ctx: dict) -> None:
    p = b["laep"]
    taux, plafond = float(p["taux_prise_en_charge"]), float(p["prix_plafond_horaire"])
    heures = _f(v, "heures_ouverture") + _f(v, "heures_organisation")
    charges = _f(v, "total_charges")
    prix = charges / heures if heures > 0 else 0.0
    retenu = min(prix, plafond)
    r.plafond_formule = cents(taux * plafond * heures)
    r.indicateurs = {"prix_revient": round(prix, 4), "prix_revient_libelle": "prix de revient horaire"}
    r.montant = cents(taux * retenu * heures)
    r.etapes += [
        Step("Heures retenues", f"{num(_f(v, 'heures_ouverture'))} h d'ouverture + "
             f"{num(_f(v, 'heures_organisation'))} h d'organisation", f"{num(heures)} h"),
        Step("Prix de revient horaire", f"{eur(charges)} ÷ {num(heures)} h", f"{num(prix, 4)} €/h"),
        Step("Prix retenu", f"min({num(prix, 4)} ; plafond {eur(plafond)})", f"{num(retenu, 4)} €/h"),
        Step("Droit", f"{pct(taux)} × {num(retenu, 4)} €/h × {num(heures)} h", eur(r.montant)),
    ]


def _par_unite(equipement_type: str, v: dict, b: Bareme, r: DroitResult, ctx: dict) -> None:
    """Types defined by the barème only (PS Jeunes, FJT…): taux × min(dépenses, plafond par unité
    × unités), the unit (ETP, résidents) and the expense field named by the barème section."""
    p = b[equipement_type.lower()]
    taux, par_unite = float(p["taux_prise_en_charge"]), float(p["plafond_par_unite"])
    unites, depenses = _f(v, p["unite"]), _f(v, p["depenses"])
    labels = labels_for(equipement_type)
    unit_label, dep_label = labels[p["unite"]], labels[p["depenses"]]
    plafond = par_unite * unites
    retenu = min(depenses, plafond)
    r.plafond_formule = cents(taux * plafond)
    r.indicateurs = {"plafond_charges": round(plafond, 2), "prix_revient_libelle": "coût par unité",
                     "prix_revient": round(depenses / unites, 4) if unites > 0 else 0.0}
    r.montant = cents(taux * retenu)
    r.etapes += [
        Step("Plafond des dépenses", f"{eur(par_unite)} × {num(unites)} ({unit_label.lower()})", eur(plafond)),
        Step("Dépenses retenues", f"min({eur(depenses)} de {dep_label.lower()} ; {eur(plafond)})", eur(retenu)),
        Step("Droit", f"{pct(taux)} × {eur(retenu)}", eur(r.montant)),
    ]


def formule(equipement_type: str, bareme: Bareme | None = None) -> str:
    if equipement_type in FORMULES:
        return FORMULES[equipement_type]
    p = (bareme.doc.get(equipement_type.lower()) if bareme else None) or {}
    if not p:
        return "formule absente du barème pour ce type d'équipement"
    labels = labels_for(equipement_type)
    return (f"droit = taux × min({labels[p['depenses']].lower()}, plafond par unité × "
            f"{labels[p['unite']].lower()})")


def needed(equipement_type: str, bareme: Bareme) -> tuple[str, ...]:
    if equipement_type in NEEDED:
        return NEEDED[equipement_type]
    p = bareme.doc.get(equipement_type.lower()) or {}
    return (p["unite"], p["depenses"]) if p else ()


def compute_droit(equipement_type: str, values: dict, bareme: Bareme, contexte: dict | None = None) -> DroitResult:
    """The droit for parsed declaration values (see validation.parse_declaration). `contexte`
    holds what the équipement record adds (its territoire validated by the Caf)."""
    label = bareme.libelle + (f" (barème {bareme.annee} appliqué, celui de {bareme.demande} "
                              "n'est pas encore publié)" if bareme.demande else "")
    result = DroitResult(None, None, formule(equipement_type, bareme), bareme=label)
    if equipement_type not in FORMULES and not bareme.doc.get(equipement_type.lower()):
        result.manquants = [f"valeurs du barème {bareme.annee} pour ce type d'équipement"]
        return result
    missing = [k for k in needed(equipement_type, bareme) if values.get(k) is None]
    if missing:
        labels = labels_for(equipement_type)
        result.manquants = [labels[k] for k in missing]
        return result
    ctx = contexte or {}
    handlers = {"EAJE": _eaje, "ALSH": _alsh, "RPE": _rpe, "LAEP": _laep}
    if equipement_type in handlers:
        handlers[equipement_type](values, bareme, result, ctx)
    else:
        _par_unite(equipement_type, values, bareme, result, ctx)
    return result


# -- acomptes and régularisation -------------------------------------------------------------

@dataclass
class Echeance:
    numero: int
    date_prevue: date
    montant: float
    rattrapage: bool = False   # the share of instalments whose date had passed, paid on the day


def schedule_acomptes(droit_previsionnel: float, exercice: int, bareme: Bareme,
                      deja_verse: float = 0.0, on: date | None = None) -> list[Echeance]:
    """The acomptes still to pay on a droit, scheduled on day `on` (default today).

    Each of the barème's instalments (two by default: 1 March and 2 October) targets its `part`
    of `taux_max` (70 %) of the droit, the last one taking the rounding cents. Re-based on this
    droit, the instalments dated on or before `on` become one catch-up dated `on`: their targets
    minus `deja_verse` (what was already paid this year). What was paid beyond them comes off
    the next instalments, in order. Never dated before `on`, never negative or zero: an
    overpayment is left to the régularisation of the réel. The total is always
    max(0, 70 % of the droit − deja_verse).

    Pure (data in, échéances out; the services pass the day: the validation day, or today for
    the live estimate) so that both schedule alike and the rule is tested without a database."""
    on = on or paris_today()
    spec = bareme["acomptes"]
    total = cents(max(0.0, droit_previsionnel) * float(spec["taux_max"]))
    instalments = sorted((date(exercice, int(e["mois"]), int(e["jour"])), float(e["part"]))
                         for e in spec["echeances"])
    targets, remaining = [], total
    for i, (day, part) in enumerate(instalments, start=1):
        amount = remaining if i == len(instalments) else min(cents(total * part), remaining)
        remaining = cents(remaining - amount)
        targets.append((day, amount))
    paid = cents(max(0.0, deja_verse))
    due_by_now = cents(sum(amount for day, amount in targets if day <= on))
    plan = [(on, cents(due_by_now - paid), True)]       # the catch-up (nothing when none is past)
    excess = cents(max(0.0, paid - due_by_now))           # paid beyond the past instalments
    for day, amount in targets:
        if day > on:
            taken = min(amount, excess)
            excess = cents(excess - taken)
            plan.append((day, cents(amount - taken), False))
    kept = [(day, amount, catch_up) for day, amount, catch_up in plan if amount > 0]
    return [Echeance(i, day, amount, catch_up) for i, (day, amount, catch_up) in enumerate(kept, start=1)]


def regularisation(droit_reel: float, acomptes_verses: float) -> dict:
    """Balance after the réel: positive = to pay the partner, negative = indu to recover."""
    solde = cents(droit_reel - acomptes_verses)
    return {"droit_reel": cents(droit_reel), "acomptes_verses": cents(acomptes_verses), "solde": solde,
            "sens": "versement" if solde > 0 else ("indu" if solde < 0 else "solde nul"),
            "calcul": f"{eur(droit_reel)} de droit réel − {eur(acomptes_verses)} d'acomptes versés = {eur(solde)}"}
