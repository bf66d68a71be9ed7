"""The rules of a landlord's declaration, whatever its channel: a record of an EDI file
(LOYERS, MOUVEMENTS, IMPAYES) or a web form of the espace bailleur (edi.declarations). Pure
functions (no Flask, no database): a record dict and the tenancy as the Caf knows it in,
anomalies (edi.anomalies) out. Both channels build the same record dict and call the same
`check_*` function, so a declaration is accepted, warned or refused the same way.

Record keys: code_locataire, numero_allocataire; LOYERS loyer_cents, charges_cents, date_effet,
nb_colocataires; MOUVEMENTS type (ENTREE | SORTIE), date_mouvement (an ENTREE may state
loyer_cents, charges_cents); IMPAYES montant_dette_cents, loyer_mensuel_cents (rent + charges),
date_constitution, periode_debut, periode_fin, plan_apurement. Amounts are integer cents, dates
`datetime.date`; `today` is the reporting day on the Paris calendar (`jour_de_reception`).

Impayé (CCH R824-1): the debt reaches twice the monthly rent and charges, net of the housing aid
when it is paid to the landlord (tiers payant). It must be reported within two months of its
constitution (R824-4): a later report is accepted with a warning.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

from portal.dates import add_months, paris_day
from portal.formatting import euros_centimes

from .anomalies import Anomalie, anomalie

# Plausibility bounds (cents, dates)
LOYER_MAX_CENTS = 500_000          # 5 000 € a month
CHARGES_MAX_CENTS = 200_000        # 2 000 € a month
DETTE_MAX_CENTS = 10_000_000       # 100 000 €
MIN_DATE = date(2000, 1, 1)
MAX_FUTURE_DAYS = 366
COLOCATAIRES_MAX = 20

fmt_euros = euros_centimes


def jour_de_reception(received_at_utc: datetime) -> date:
    """The reporting day of a declaration received at `received_at_utc` (naive UTC, as stored):
    its day on the Paris calendar — a file received at 23:30 UTC on 31 March was reported on
    1 April. Deadlines (R824-4) and plausibility (« in the future ») count from it."""
    return paris_day(received_at_utc)


# ---------------------------------------------------------------- R824-1 / R824-4

def montant_mensuel_net(loyer_charges_cents: int, aide_mensuelle_cents: int = 0,
                        tiers_payant: bool = False) -> int:
    """Monthly amount owed by the tenant: rent + charges, net of the aid in tiers payant."""
    net = loyer_charges_cents - (aide_mensuelle_cents if tiers_payant else 0)
    return max(net, 0)


def seuil_impaye(loyer_charges_cents: int, aide_mensuelle_cents: int = 0,
                 tiers_payant: bool = False) -> int:
    """R824-1: the debt constitutes an impayé once it reaches twice the net monthly amount."""
    return 2 * montant_mensuel_net(loyer_charges_cents, aide_mensuelle_cents, tiers_payant)


def impaye_constitue(dette_cents: int, loyer_charges_cents: int, aide_mensuelle_cents: int = 0,
                     tiers_payant: bool = False) -> bool:
    seuil = seuil_impaye(loyer_charges_cents, aide_mensuelle_cents, tiers_payant)
    return seuil > 0 and dette_cents >= seuil


def echeance_signalement(date_constitution: date) -> date:
    """R824-4: the last day to report an impayé constituted on `date_constitution`."""
    return add_months(date_constitution, 2)


def signalement_tardif(date_constitution: date, date_signalement: date) -> bool:
    """R824-4: reported more than two months after the impayé was constituted."""
    return date_signalement > echeance_signalement(date_constitution)


# ---------------------------------------------------------------- records

def _date_ok(d: date | None, today: date) -> bool:
    return d is not None and MIN_DATE <= d <= today + timedelta(days=MAX_FUTURE_DAYS)


def _amount_ok(value: int | None, maximum: int, minimum: int = 0) -> bool:
    return value is not None and minimum <= value <= maximum


@lru_cache(maxsize=8)
def _max_date(today: date) -> date:
    """Latest plausible date (cached: checked once per record of large files)."""
    return today + timedelta(days=MAX_FUTURE_DAYS)


def check_loyer(rec: dict, tenancy: dict | None, today: date) -> list[Anomalie]:
    # Fast path, the common case of a large file: every value plausible (same bounds as below).
    loyer, charges, effet, n = (rec.get("loyer_cents"), rec.get("charges_cents"),
                                rec.get("date_effet"), rec.get("nb_colocataires"))
    if (tenancy is not None and loyer is not None and 1 <= loyer <= LOYER_MAX_CENTS
            and charges is not None and 0 <= charges <= CHARGES_MAX_CENTS
            and effet is not None and MIN_DATE <= effet <= _max_date(today)
            and (n is None or 1 <= n <= COLOCATAIRES_MAX)):
        return []
    out = []
    if tenancy is None:
        out.append(anomalie("LOCATAIRE_INCONNU", _who(rec), "numero_allocataire"))
    if not _amount_ok(rec.get("loyer_cents"), LOYER_MAX_CENTS, minimum=1):
        out.append(anomalie("MONTANT_INVRAISEMBLABLE", f"loyer de {fmt_euros(rec.get('loyer_cents') or 0)}",
                            "loyer_cents"))
    if not _amount_ok(rec.get("charges_cents"), CHARGES_MAX_CENTS):
        out.append(anomalie("MONTANT_INVRAISEMBLABLE", f"charges de {fmt_euros(rec.get('charges_cents') or 0)}",
                            "charges_cents"))
    if not _date_ok(rec.get("date_effet"), today):
        out.append(anomalie("DATE_INVRAISEMBLABLE", f"date d'effet {_d(rec.get('date_effet'))}", "date_effet"))
    n = rec.get("nb_colocataires")
    if n is not None and not 1 <= n <= COLOCATAIRES_MAX:
        out.append(anomalie("COLOCATAIRES_INVRAISEMBLABLE", str(n), "nb_colocataires"))
    return out


def loyers_plausible(block, today: date) -> bool:
    """True when check_loyer's fast path holds for every record of `block` (an
    edi.formats.RecordColumns of LOYERS records, tenancy checked when applying): every
    amount, date and count within its bounds. Checked with min and max over each column, in C,
    instead of a call per record; False sends the block record by record through check_loyer."""
    if not len(block):
        return True
    loyers, charges = block.column("loyer_cents"), block.column("charges_cents")
    effets, colocs = block.column("date_effet"), block.column("nb_colocataires")
    if None in loyers or None in charges or None in effets:
        return False
    if not (min(loyers) >= 1 and max(loyers) <= LOYER_MAX_CENTS
            and min(charges) >= 0 and max(charges) <= CHARGES_MAX_CENTS
            and min(effets) >= MIN_DATE and max(effets) <= _max_date(today)):
        return False
    counts = [n for n in colocs if n is not None] if None in colocs else colocs
    return not counts or (min(counts) >= 1 and max(counts) <= COLOCATAIRES_MAX)


def check_mouvement(rec: dict, tenancy: dict | None, today: date) -> list[Anomalie]:
    out = []
    kind = rec.get("type")
    d = rec.get("date_mouvement")
    if tenancy is None:
        out.append(anomalie("LOCATAIRE_INCONNU", _who(rec), "numero_allocataire"))
    if not _date_ok(d, today):
        out.append(anomalie("DATE_INVRAISEMBLABLE", f"date du mouvement {_d(d)}", "date_mouvement"))
    # The rent an entry states becomes the current rent: same bounds as a LOYERS record's.
    for key, maximum, minimum in (("loyer_cents", LOYER_MAX_CENTS, 1), ("charges_cents", CHARGES_MAX_CENTS, 0)):
        if rec.get(key) is not None and not _amount_ok(rec[key], maximum, minimum=minimum):
            out.append(anomalie("MONTANT_INVRAISEMBLABLE", f"{key.split('_')[0]} de {fmt_euros(rec[key])}", key))
    if tenancy is not None and d is not None:
        entree, sortie = tenancy.get("date_entree"), tenancy.get("date_sortie")
        if kind == "SORTIE" and entree is not None and d < entree:
            out.append(anomalie("MOUVEMENT_INCOHERENT",
                                f"sortie le {_d(d)} avant l'entrée du {_d(entree)}", "date_mouvement"))
        if kind == "SORTIE" and sortie is not None and sortie != d:
            out.append(anomalie("MOUVEMENT_INCOHERENT", f"sortie déjà enregistrée le {_d(sortie)}",
                                "date_mouvement"))
        if kind == "ENTREE" and sortie is None and entree is not None and entree != d:
            out.append(anomalie("MOUVEMENT_INCOHERENT",
                                f"bail en cours depuis le {_d(entree)}, sans sortie", "type"))
    return out


def check_impaye(rec: dict, tenancy: dict | None, today: date) -> list[Anomalie]:
    out = []
    if tenancy is None:
        out.append(anomalie("LOCATAIRE_INCONNU", _who(rec), "numero_allocataire"))
    dette = rec.get("montant_dette_cents")
    mensuel = rec.get("loyer_mensuel_cents")
    if not _amount_ok(dette, DETTE_MAX_CENTS, minimum=1):
        out.append(anomalie("MONTANT_INVRAISEMBLABLE", f"dette de {fmt_euros(dette or 0)}", "montant_dette_cents"))
    if not _amount_ok(mensuel, LOYER_MAX_CENTS + CHARGES_MAX_CENTS, minimum=1):
        out.append(anomalie("MONTANT_INVRAISEMBLABLE", f"loyer mensuel de {fmt_euros(mensuel or 0)}",
                            "loyer_mensuel_cents"))
    constitution = rec.get("date_constitution")
    debut, fin = rec.get("periode_debut"), rec.get("periode_fin")
    if not (constitution is not None and MIN_DATE <= constitution <= today):
        out.append(anomalie("DATE_INVRAISEMBLABLE", f"date de constitution {_d(constitution)}", "date_constitution"))
        constitution = None
    if debut is None or fin is None or debut > fin or fin > today or debut < MIN_DATE:
        out.append(anomalie("PERIODE_INCOHERENTE", f"du {_d(debut)} au {_d(fin)}",
                            "periode_debut" if debut is None or debut < MIN_DATE else "periode_fin"))
    elif constitution is not None and constitution < debut:
        out.append(anomalie("PERIODE_INCOHERENTE",
                            f"constitution le {_d(constitution)} avant le début de la période ({_d(debut)})",
                            "date_constitution"))
    if out:
        return out
    aide = tenancy.get("aide_mensuelle_cents") or 0
    tiers = bool(tenancy.get("tiers_payant"))
    known = (tenancy.get("loyer_cents") or 0) + (tenancy.get("charges_cents") or 0)
    if known and known != mensuel:
        out.append(anomalie("LOYER_DIFFERENT", f"{fmt_euros(mensuel)} déclaré, {fmt_euros(known)} connu",
                            "loyer_mensuel_cents"))
    if not impaye_constitue(dette, mensuel, aide, tiers):
        seuil = seuil_impaye(mensuel, aide, tiers)
        net = " net de l'aide versée en tiers payant" if tiers and aide else ""
        out.append(anomalie("IMPAYE_NON_CONSTITUE",
                            f"dette de {fmt_euros(dette)} inférieure au seuil de {fmt_euros(seuil)} "
                            f"(deux mois de loyer et charges{net})", "montant_dette_cents"))
    elif signalement_tardif(constitution, today):
        out.append(anomalie("IMPAYE_SIGNALE_TARDIVEMENT",
                            f"constitué le {_d(constitution)}, signalé le {_d(today)}", "date_constitution"))
    return out


CHECKS = {"LOYERS": check_loyer, "MOUVEMENTS": check_mouvement, "IMPAYES": check_impaye}


def check_record(flux: str, rec: dict, tenancy: dict | None, today: date) -> list[Anomalie]:
    return CHECKS[flux](rec, tenancy, today)


# Flows whose checks need the tenancy's details (dates, rent, housing aid); the others only need
# to know whether it exists, which the pipeline checks set-based after staging (then re-runs
# the checks with tenancy=None for the records that are not a tenancy of the landlord).
NEEDS_TENANCY_DETAILS = frozenset({"MOUVEMENTS", "IMPAYES"})
TENANCY_UNCHECKED: dict = {}


def _who(rec: dict) -> str:
    return f"locataire {rec.get('code_locataire') or '?'}, allocataire {rec.get('numero_allocataire') or '?'}"


def _d(d) -> str:
    return d.strftime("%d/%m/%Y") if d else "absente"
