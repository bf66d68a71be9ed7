"""Points de contrôle of a declaration (docs/domaine.md §2). Pure: (data, barème, history) -> results.

Each rule has a stable code, a severity — *bloquant* (must be fixed before transmission) or
*alerte* (must be justified in words) — and a French message stating the actual figures and the
threshold, which comes from the barème. `evaluate()` parses, computes the droit and runs every
check in one call (the live preview, the transmission and the API all use it).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from portal.formatting import accord

from .bareme import Bareme
from .controles_regles import rules_2026, seuils_facturation
from .droit import DroitResult, compute_droit, eur, num, pct
from .schema import CHARGE_LINES, PRODUIT_LINES, fields_for, labels_for
from .validation import ParseResult, parse_declaration

BLOQUANT, ALERTE = "bloquant", "alerte"

# code -> (severity, short title). Codes are stable: exports, API and justifications use them.
RULES: dict[str, tuple[str, str]] = {
    "VALEURS-MANQUANTES": (BLOQUANT, "Valeurs obligatoires manquantes"),
    "VALEUR-NEGATIVE": (BLOQUANT, "Valeurs négatives"),
    "SAISIE-INVALIDE": (BLOQUANT, "Saisies invalides ou incohérentes"),
    "TOTAL-CHARGES": (BLOQUANT, "Total des charges différent de la somme des comptes 60 à 68"),
    "TOTAL-PRODUITS": (BLOQUANT, "Total des produits différent de la somme des comptes 70 à 78"),
    "CAPACITE-HEURES": (BLOQUANT, "Heures réalisées au-delà de la capacité théorique"),
    "ACTIVITE-NULLE": (ALERTE, "Aucune heure d'activité réalisée"),
    "TAUX-FACTURATION-107": (ALERTE, "Taux de facturation supérieur au premier seuil"),
    "TAUX-FACTURATION-120": (ALERTE, "Taux de facturation supérieur au second seuil"),
    "HEURES-FACTUREES-INFERIEURES": (ALERTE, "Heures facturées inférieures aux heures réalisées"),
    "ECART-REEL-PREVISIONNEL": (ALERTE, "Écart entre droit réel et droit prévisionnel"),
    "ECART-ACTUALISE-PREVISIONNEL": (ALERTE, "Écart entre droit actualisé et droit prévisionnel"),
    "VARIATION-PRIX-REVIENT": (ALERTE, "Variation du prix de revient par rapport au réel N-1"),
    "PARTICIPATION-HORAIRE": (ALERTE, "Participation familiale horaire moyenne hors barème"),
    "EXCEDENT": (ALERTE, "Excédent important"),
    "RPE-RATIO-ASSMAT": (ALERTE, "Plus d'assistantes maternelles par ETP que le ratio cible"),
    "LAEP-ACCUEILLANTS": (ALERTE, "Moins d'accueillants par séance que le minimum"),
    "RPE-MISSIONS-SANS-ETP": (BLOQUANT, "Missions renforcées sans ETP d'animateur"),
    "MERCREDI-PLAFOND": (BLOQUANT, "Heures du mercredi au-delà des plafonds du plan mercredi"),
    "MERCREDI-HEURES": (BLOQUANT, "Heures du mercredi supérieures aux heures réalisées"),
}

# Blocking checks that compare several fields: shown at the field they name, as the person types.
CROSS_FIELD = ("TOTAL-CHARGES", "TOTAL-PRODUITS", "CAPACITE-HEURES")


def line_sums(values: dict) -> dict[str, float]:
    """Sum of the account lines typed so far, by total field (what « Reporter la somme » fills)."""
    out = {}
    for total_key, lines in (("total_charges", CHARGE_LINES), ("total_produits", PRODUIT_LINES)):
        out[total_key] = round(sum(float(values[k]) for k, _ in lines
                                   if isinstance(values.get(k), (int, float)) and not isinstance(values.get(k), bool)), 2)
    return out


@dataclass
class Controle:
    code: str
    severite: str
    titre: str
    message: str
    champs: tuple[str, ...] = ()
    valeur: float | None = None
    seuil: float | None = None

    def as_dict(self) -> dict:
        return {"code": self.code, "severite": self.severite, "titre": self.titre,
                "message": self.message, "champs": list(self.champs),
                "valeur": self.valeur, "seuil": self.seuil}


def _make(code: str, message: str, champs=(), valeur=None, seuil=None) -> Controle:
    severite, titre = RULES[code]
    return Controle(code, severite, titre, message, tuple(champs), valeur, seuil)


@dataclass
class Evaluation:
    parsed: ParseResult
    droit: DroitResult
    controles: list[Controle] = field(default_factory=list)

    @property
    def bloquants(self) -> list[Controle]:
        return [c for c in self.controles if c.severite == BLOQUANT]

    @property
    def alertes(self) -> list[Controle]:
        return [c for c in self.controles if c.severite == ALERTE]

    @property
    def field_messages(self) -> dict[str, str]:
        """The message to show at each field: its own input error, else the first blocking
        cross-field check naming it (« Total des charges » differs from the lines' sum)."""
        out = {k: e.message for k, e in self.parsed.errors.items()}
        for c in self.bloquants:
            if c.code in CROSS_FIELD:
                for key in c.champs:
                    out.setdefault(key, c.message)
        return out

    def missing_justifications(self, justifications: dict) -> list[Controle]:
        return [c for c in self.alertes if not str((justifications or {}).get(c.code) or "").strip()]

    def as_dict(self) -> dict:
        return {"droit": self.droit.as_dict(), "controles": [c.as_dict() for c in self.controles],
                "erreurs": self.parsed.messages,
                "transmissible": not self.bloquants}


def _labels(keys, labels: dict[str, str]) -> str:
    return ", ".join(labels[k] for k in keys)


def run_checks(equipement_type: str, declaration_type: str, parsed: ParseResult, droit: DroitResult,
               bareme: Bareme, history: dict | None = None) -> list[Controle]:
    history = history or {}
    v = parsed.values
    th = bareme.controles
    labels = labels_for(equipement_type)
    out: list[Controle] = []

    missing = [f.key for f in parsed.missing(fields_for(equipement_type))]
    if missing:
        out.append(_make("VALEURS-MANQUANTES",
                         f"{accord(len(missing), 'valeur obligatoire', 'valeurs obligatoires')} à renseigner : {_labels(missing, labels)}.", missing))
    negative = [k for k, e in parsed.errors.items() if e.kind == "negatif"]
    if negative:
        out.append(_make("VALEUR-NEGATIVE", (f"Valeur négative refusée : {_labels(negative, labels)}." if len(negative) == 1
                         else f"Valeurs négatives refusées : {_labels(negative, labels)}."), negative))
    invalid = [k for k, e in parsed.errors.items() if e.kind != "negatif"]
    if invalid:
        details = " ; ".join(f"{labels[k]} : {parsed.errors[k].message}" for k in invalid)
        out.append(_make("SAISIE-INVALIDE", f"À corriger — {details}", invalid))

    def have(*keys):
        return all(v.get(k) is not None for k in keys)

    tolerance = float(th["tolerance_totaux"])
    for code, lines, total_key, accounts in (
            ("TOTAL-CHARGES", CHARGE_LINES, "total_charges", "60 à 68"),
            ("TOTAL-PRODUITS", PRODUIT_LINES, "total_produits", "70 à 78")):
        keys = [k for k, _ in lines]
        if have(total_key, *keys):
            lines_sum = round(sum(float(v[k]) for k in keys), 2)
            if abs(lines_sum - float(v[total_key])) > tolerance:
                out.append(_make(code, f"Le total déclaré ({eur(v[total_key])}) diffère de la somme des comptes "
                                       f"{accounts} ({eur(lines_sum)}) de {eur(abs(lines_sum - float(v[total_key])))} "
                                       f"(tolérance {eur(tolerance)}).", (total_key,), v[total_key], lines_sum))

    places_key = {"EAJE": "places_agreees", "ALSH": "capacite"}.get(equipement_type)
    if places_key and have(places_key, "jours_ouverture", "amplitude_horaire", "heures_realisees"):
        capacity = float(v[places_key]) * float(v["jours_ouverture"]) * float(v["amplitude_horaire"])
        if float(v["heures_realisees"]) > capacity:
            out.append(_make("CAPACITE-HEURES",
                             f"{num(v['heures_realisees'])} h réalisées dépassent la capacité théorique de "
                             f"{num(capacity)} h ({num(v[places_key])} places × {num(v['jours_ouverture'])} jours × "
                             f"{num(v['amplitude_horaire'])} h).", ("heures_realisees",), v["heures_realisees"], capacity))

    hours_key = {"EAJE": "heures_realisees", "ALSH": "heures_realisees"}.get(equipement_type)
    if hours_key and v.get(hours_key) == 0:
        out.append(_make("ACTIVITE-NULLE", "Aucune heure réalisée n'est déclarée : le droit calculé est nul.",
                         (hours_key,), 0, None))
    if equipement_type == "LAEP" and have("heures_ouverture", "heures_organisation") \
            and float(v["heures_ouverture"]) + float(v["heures_organisation"]) == 0:
        out.append(_make("ACTIVITE-NULLE", "Aucune heure d'ouverture ni d'organisation n'est déclarée : "
                                           "le droit calculé est nul.", ("heures_ouverture",), 0, None))

    if equipement_type == "EAJE" and have("heures_realisees", "heures_facturees") and float(v["heures_realisees"]) > 0:
        realisees, facturees = float(v["heures_realisees"]), float(v["heures_facturees"])
        tf = facturees / realisees
        low, high = seuils_facturation(bareme)
        effect = bareme["eaje"].get("taux_facturation") is not None
        bands = effect and bareme["eaje"]["taux_facturation"].get("regle") == "tranches"
        if tf > high:
            out.append(_make("TAUX-FACTURATION-120",
                             f"Taux de facturation de {pct(tf)} ({num(facturees)} h facturées ÷ {num(realisees)} h "
                             f"réalisées), au-delà du seuil de {pct(high)}"
                             + ((" : le plafond de la dernière tranche s'applique." if bands else
                                " : le prix plafond est ramené au plancher.") if effect else "."),
                             ("heures_facturees",), round(tf, 4), high))
        elif tf > low:
            out.append(_make("TAUX-FACTURATION-107",
                             f"Taux de facturation de {pct(tf)} ({num(facturees)} h facturées ÷ {num(realisees)} h "
                             f"réalisées), au-delà du seuil de {pct(low)}"
                             + ((" : le plafond de la tranche suivante s'applique." if bands else
                                " : le prix plafond diminue.") if effect else "."),
                             ("heures_facturees",), round(tf, 4), low))
        if facturees < realisees:
            out.append(_make("HEURES-FACTUREES-INFERIEURES",
                             f"{num(facturees)} h facturées pour {num(realisees)} h réalisées : des heures "
                             f"réalisées n'ont pas été facturées ({num(realisees - facturees)} h).",
                             ("heures_facturees",), facturees, realisees))

    dp = history.get("droit_previsionnel")
    if droit.montant is not None and dp:
        gap = (droit.montant - float(dp)) / float(dp)
        if declaration_type == "reel":
            limit = float(th["ecart_reel_previsionnel"])
            if abs(gap) > limit:
                out.append(_make("ECART-REEL-PREVISIONNEL",
                                 f"Droit réel estimé {eur(droit.montant)} contre {eur(dp)} au prévisionnel : écart de "
                                 f"{'+' if gap > 0 else ''}{pct(gap)}, au-delà de ±{pct(limit)}.", (), round(gap, 4), limit))
        elif declaration_type.startswith("actualise"):
            limit = float(th["ecart_actualise_previsionnel"])
            if abs(gap) > limit:
                out.append(_make("ECART-ACTUALISE-PREVISIONNEL",
                                 f"Droit actualisé estimé {eur(droit.montant)} contre {eur(dp)} au prévisionnel : "
                                 f"écart de {'+' if gap > 0 else ''}{pct(gap)}, au-delà de ±{pct(limit)}.",
                                 (), round(gap, 4), limit))

    previous_cost = history.get("prix_revient_reel_n1")
    cost = droit.indicateurs.get("prix_revient") if droit.montant is not None else None
    if previous_cost and cost:
        variation = (cost - float(previous_cost)) / float(previous_cost)
        limit = float(th["variation_prix_revient"])
        if abs(variation) > limit:
            what = droit.indicateurs.get("prix_revient_libelle", "prix de revient")
            out.append(_make("VARIATION-PRIX-REVIENT",
                             f"{what.capitalize()} de {num(cost, 2)} € contre {num(float(previous_cost), 2)} € au réel "
                             f"{history.get('reel_n1_annee', 'N-1')} : variation de {'+' if variation > 0 else ''}"
                             f"{pct(variation)}, au-delà de ±{pct(limit)}.", ("total_charges",), round(variation, 4), limit))

    if equipement_type == "EAJE" and have("participations_familiales", "heures_facturees") \
            and float(v["heures_facturees"]) > 0:
        hourly = float(v["participations_familiales"]) / float(v["heures_facturees"])
        low, high = float(th["participation_horaire_plancher"]), float(th["participation_horaire_plafond"])
        if not low <= hourly <= high:
            out.append(_make("PARTICIPATION-HORAIRE",
                             f"Participation familiale moyenne de {num(hourly, 2)} €/h "
                             f"({eur(v['participations_familiales'])} ÷ {num(v['heures_facturees'])} h facturées), "
                             f"hors de l'intervalle du barème [{num(low, 2)} € ; {num(high, 2)} €].",
                             ("participations_familiales",), round(hourly, 4), high if hourly > high else low))

    if have("total_charges", "total_produits") and float(v["total_charges"]) > 0:
        surplus = float(v["total_produits"]) - float(v["total_charges"])
        limit = float(th["excedent_max"])
        if surplus > limit * float(v["total_charges"]):
            out.append(_make("EXCEDENT",
                             f"Excédent de {eur(surplus)}, soit {pct(surplus / float(v['total_charges']))} des charges "
                             f"({eur(v['total_charges'])}), au-delà de {pct(limit)}.",
                             ("total_produits",), round(surplus, 2), limit))

    if equipement_type == "RPE" and have("assistantes_maternelles", "etp_animateur"):
        ratio_max = float(th["assistantes_maternelles_par_etp"])
        am, etp = float(v["assistantes_maternelles"]), float(v["etp_animateur"])
        if am > 0 and (etp == 0 or am / etp > ratio_max):
            ratio_text = "aucun ETP déclaré" if etp == 0 else f"{num(am / etp, 1)} par ETP"
            out.append(_make("RPE-RATIO-ASSMAT",
                             f"{num(am)} assistantes maternelles pour {num(etp)} ETP d'animateur ({ratio_text}), "
                             f"au-delà du ratio cible de {num(ratio_max)} par ETP.",
                             ("assistantes_maternelles",), None if etp == 0 else round(am / etp, 2), ratio_max))

    if equipement_type == "LAEP" and have("accueillants_par_seance"):
        minimum = float(th["accueillants_min"])
        if float(v["accueillants_par_seance"]) < minimum:
            out.append(_make("LAEP-ACCUEILLANTS",
                             f"{num(v['accueillants_par_seance'])} accueillant{'s' if float(v['accueillants_par_seance']) >= 2 else ''} par séance, en dessous du minimum "
                             f"de {num(minimum)}.", ("accueillants_par_seance",), v["accueillants_par_seance"], minimum))

    out += rules_2026(equipement_type, v, bareme)
    order = {BLOQUANT: 0, ALERTE: 1}
    out.sort(key=lambda c: (order[c.severite], list(RULES).index(c.code)))
    return out


def evaluate(equipement_type: str, declaration_type: str, raw: dict, bareme: Bareme,
             history: dict | None = None, contexte: dict | None = None) -> Evaluation:
    """Parse, compute the droit and run every check: what the live preview shows."""
    parsed = parse_declaration(equipement_type, raw)
    droit = compute_droit(equipement_type, parsed.values, bareme, contexte)
    return Evaluation(parsed, droit, run_checks(equipement_type, declaration_type, parsed, droit, bareme, history))
