"""Checks of the rule sections of a barème (docs/afas.md « Règles de calcul »). Pure.

Split from bareme.py: the taux de facturation rule (bands until 2024, linear since 2025, the
floor frozen until 2027), the bonuses and the types defined by the barème only.
"""
from __future__ import annotations

# The ≥ 120 % floor of the 2025 rule keeps its 2025 value until the barème of this year.
PLANCHER_PREMIERE_ANNEE = 2025
PLANCHER_REVALORISE_EN = 2027
VARIANTS = ("avec_couches_repas", "sans_couches_repas")
ZONES_BONUS = ("zone_prioritaire", "ctg")


def number(doc, path: str, problems: list[str], low: float = 0.0, high: float = 1e9):
    node = doc
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            problems.append(f"{path} : valeur absente")
            return None
        node = node[part]
    if isinstance(node, bool) or not isinstance(node, (int, float)):
        problems.append(f"{path} : un nombre est attendu")
        return None
    if not low <= node <= high:
        problems.append(f"{path} : {node} hors de l'intervalle [{low} ; {high}]")
        return None
    return node


def _section(doc, *path):
    node = doc
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node


def check_taux_facturation(doc: dict, problems: list[str]) -> None:
    tf = _section(doc, "eaje", "taux_facturation")
    if tf is None:
        return
    if not isinstance(tf, dict):
        problems.append("eaje.taux_facturation : objet attendu")
        return
    ceiling = _section(doc, "eaje", "prix_plafond_horaire") or {}
    regle = tf.get("regle", "lineaire")
    if regle == "tranches":
        _check_tranches(tf.get("tranches"), ceiling, problems)
        return
    if regle != "lineaire":
        problems.append("eaje.taux_facturation.regle : « tranches » ou « lineaire » attendu")
        return
    low = number(doc, "eaje.taux_facturation.seuil_bas", problems, 1, 3)
    high = number(doc, "eaje.taux_facturation.seuil_haut", problems, 1, 3)
    if low is not None and high is not None and not low < high:
        problems.append("eaje.taux_facturation : seuil_bas doit être inférieur à seuil_haut")
    for variant in VARIANTS:
        floor = number(doc, f"eaje.taux_facturation.prix_plancher_horaire.{variant}", problems, 0, 1000)
        top = ceiling.get(variant) if isinstance(ceiling, dict) else None
        if floor is not None and isinstance(top, (int, float)) and floor > top:
            problems.append(f"eaje.taux_facturation.prix_plancher_horaire.{variant} : "
                            "le plancher dépasse le plafond")


def _check_tranches(tranches, ceiling, problems: list[str]) -> None:
    base = "eaje.taux_facturation.tranches"
    if not isinstance(tranches, list) or len(tranches) < 2:
        problems.append(f"{base} : au moins deux tranches attendues")
        return
    previous_top, previous_values = 0.0, dict(ceiling) if isinstance(ceiling, dict) else {}
    for i, band in enumerate(tranches):
        if not isinstance(band, dict):
            problems.append(f"{base}[{i}] : objet attendu")
            return
        top = band.get("taux_max")
        last = i == len(tranches) - 1
        if last and top is not None:
            problems.append(f"{base}[{i}] : la dernière tranche est ouverte (taux_max null)")
        elif not last:
            sub: list[str] = []
            top = number(band, "taux_max", sub, 1, 3)
            problems += [f"{base}[{i}].{m}" for m in sub]
            if top is not None and top <= previous_top:
                problems.append(f"{base} : tranches à classer par taux croissant")
            previous_top = top or previous_top
        for variant in VARIANTS:
            sub = []
            value = number(band, f"prix_plafond_horaire.{variant}", sub, 0.01, 1000)
            problems += [f"{base}[{i}].{m}" for m in sub]
            before = previous_values.get(variant)
            if value is not None and isinstance(before, (int, float)) and value > before:
                problems.append(f"{base}[{i}].prix_plafond_horaire.{variant} : le plafond ne peut pas "
                                "augmenter avec le taux de facturation")
            if value is not None:
                previous_values[variant] = value


def check_bonus(doc: dict, problems: list[str]) -> None:
    handicap = _section(doc, "eaje", "bonus_inclusion_handicap")
    if handicap is not None:
        steps = handicap.get("paliers") if isinstance(handicap, dict) else None
        if not isinstance(steps, list) or not steps:
            problems.append("eaje.bonus_inclusion_handicap.paliers : liste non vide attendue")
        else:
            previous_share, previous_amount = -1.0, -1.0
            for i, step in enumerate(steps):
                share = number(step, "part_aeeh_min", problems, 0, 1)
                amount = number(step, "montant_par_place", problems, 0, 100000)
                if share is not None and share <= previous_share:
                    problems.append("eaje.bonus_inclusion_handicap.paliers : paliers à classer par part croissante")
                if amount is not None and amount < previous_amount:
                    problems.append(f"eaje.bonus_inclusion_handicap.paliers[{i}] : le bonus est progressif, "
                                    "un palier ne peut pas être inférieur au précédent")
                previous_share = share if share is not None else previous_share
                previous_amount = amount if amount is not None else previous_amount
            if isinstance(steps[0], dict) and steps[0].get("part_aeeh_min") not in (0, 0.0):
                problems.append("eaje.bonus_inclusion_handicap.paliers[0] : le bonus s'applique dès le premier "
                                "enfant (part_aeeh_min 0)")
    if _section(doc, "eaje", "bonus_territoire") is not None:
        for zone in ZONES_BONUS:
            number(doc, f"eaje.bonus_territoire.montant_par_place.{zone}", problems, 0, 100000)
    if _section(doc, "alsh", "plan_mercredi") is not None:
        number(doc, "alsh.plan_mercredi.bonification_par_heure", problems, 0, 100)
        number(doc, "alsh.plan_mercredi.plafond_heures_journee_repas", problems, 0, 24)
        number(doc, "alsh.plan_mercredi.plafond_heures_demi_journee", problems, 0, 12)


def check_types(doc: dict, problems: list[str], types: dict, labels: dict) -> None:
    """Sections of the types whose formula is barème data (`formule: par_unite`)."""
    for code in types:
        section = doc.get(code.lower())
        if section is None:
            continue  # a type may start in a later year; its declarations then say so
        base = code.lower()
        if not isinstance(section, dict) or section.get("formule") != "par_unite":
            problems.append(f"{base}.formule : « par_unite » attendu")
            continue
        for key in ("unite", "depenses"):
            if section.get(key) not in labels:
                problems.append(f"{base}.{key} : champ de déclaration inconnu")
        number(doc, f"{base}.taux_prise_en_charge", problems, 0, 1)
        number(doc, f"{base}.plafond_par_unite", problems, 0.01, 10_000_000)


def _floors(doc) -> dict | None:
    tf = _section(doc, "eaje", "taux_facturation")
    if isinstance(tf, dict) and tf.get("regle", "lineaire") == "lineaire":
        return tf.get("prix_plancher_horaire")
    return None


def check_plancher_gele(doc: dict, others: dict[int, dict]) -> list[str]:
    """The floor keeps its 2025 value in every barème from 2025 up to 2027 (excluded): compared
    with the other loaded barèmes of those years (Caf Loiret, réforme 2025)."""
    annee = doc.get("annee")
    frozen = range(PLANCHER_PREMIERE_ANNEE, PLANCHER_REVALORISE_EN)
    floors = _floors(doc)
    if annee not in frozen or not isinstance(floors, dict):
        return []
    problems = []
    for year, other in sorted(others.items()):
        theirs = _floors(other)
        if year == annee or year not in frozen or not isinstance(theirs, dict):
            continue
        for variant in VARIANTS:
            if floors.get(variant) != theirs.get(variant):
                problems.append(
                    f"eaje.taux_facturation.prix_plancher_horaire.{variant} : le plancher (taux de facturation "
                    f"≥ 120 %) n'est pas revalorisé avant {PLANCHER_REVALORISE_EN} ; il reste à "
                    f"{theirs.get(variant)} € comme dans le barème {year}, pas {floors.get(variant)} €")
    return problems
