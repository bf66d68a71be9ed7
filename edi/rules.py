"""EDI business rules: pure functions (no Flask, no database), data in, anomalies out.

Every anomaly has a stable code (listed in CODES, published in the specification), a French
label and a severity: ERREUR rejects the record (or the file, for envelope codes), AVERTISSEMENT
keeps it. Amounts are integer cents; dates are `datetime.date`.

Impayé (CCH R824-1): the debt reaches twice the monthly rent and charges, net of the housing aid
when it is paid to the landlord (tiers payant). It must be reported within two months of its
constitution (R824-4): a later report is accepted with a warning.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from portal.dates import add_months
from portal.formatting import date_heure, euros_centimes

ERREUR, AVERTISSEMENT, INFO = "ERREUR", "AVERTISSEMENT", "INFORMATION"


@dataclass(frozen=True)
class Anomalie:
    code: str
    libelle: str
    severite: str = ERREUR

    def as_dict(self) -> dict:
        return {"code": self.code, "libelle": self.libelle, "severite": self.severite}


# code -> (severity, generic label). Labels of actual anomalies add the record's details.
CODES: dict[str, tuple[str, str]] = {
    "ENREGISTREMENT_ACCEPTE": (INFO, "Enregistrement accepté et pris en compte"),
    # File level, technical (the identifier may be sent again). The signature and format codes
    # (edi.crypto.signature.SIGNATURE_CODES, edi.formats.FILE_ERROR_CODES) are used as they come.
    "SIGNATURE_ABSENTE": (ERREUR, "Le fichier n'est pas accompagné de sa signature (.p7s)"),
    "FLUX_INATTENDU": (ERREUR, "Flux non accepté en entrée"),
    "EMETTEUR_INCORRECT": (ERREUR, "L'émetteur de l'enveloppe n'est pas l'organisation qui dépose"),
    "DESTINATAIRE_INCORRECT": (ERREUR, "Le destinataire de l'enveloppe n'est pas la Caf"),
    "DATE_CREATION_FUTURE": (ERREUR, "La date de création du fichier est dans le futur"),
    "DATE_CREATION_ANCIENNE": (ERREUR, "La date de création du fichier est trop ancienne"),
    "NOMBRE_ENREGISTREMENTS_INCORRECT": (ERREUR, "Nombre d'enregistrements annoncé différent du nombre lu"),
    "SEQUENCE_INCORRECTE": (ERREUR, "Numéro de séquence déjà utilisé ou non croissant"),
    "IDENTIFIANT_ENREGISTREMENT_EN_DOUBLE": (ERREUR, "Identifiant d'enregistrement en double dans le fichier"),
    "SEQUENCE_NON_CONSECUTIVE": (AVERTISSEMENT, "Numéro de séquence non consécutif (fichier manquant ?)"),
    # File level, business
    "DOUBLON": (ERREUR, "Fichier déjà reçu"),
    "AUCUN_ENREGISTREMENT_ACCEPTE": (ERREUR, "Aucun enregistrement n'a été accepté"),
    "MODE_TEST": (INFO, "Fichier de test : contrôles effectués, rien n'a été appliqué"),
    # Record level
    "LOCATAIRE_INCONNU": (ERREUR, "Allocataire inconnu ou non locataire de ce bailleur"),
    "MONTANT_INVRAISEMBLABLE": (ERREUR, "Montant invraisemblable"),
    "DATE_INVRAISEMBLABLE": (ERREUR, "Date invraisemblable"),
    "COLOCATAIRES_INVRAISEMBLABLE": (ERREUR, "Nombre de colocataires invraisemblable"),
    "PERIODE_INCOHERENTE": (ERREUR, "Période de l'impayé incohérente"),
    "IMPAYE_NON_CONSTITUE": (ERREUR, "Impayé non constitué au sens de l'article R824-1 du CCH"),
    "IMPAYE_SIGNALE_TARDIVEMENT": (AVERTISSEMENT, "Impayé signalé plus de deux mois après sa constitution (R824-4)"),
    "LOYER_DIFFERENT": (AVERTISSEMENT, "Loyer mensuel déclaré différent du loyer connu"),
    "MOUVEMENT_INCOHERENT": (ERREUR, "Mouvement incohérent avec le bail connu"),
}

# Plausibility bounds (cents, dates)
LOYER_MAX_CENTS = 500_000          # 5 000 € a month
CHARGES_MAX_CENTS = 200_000        # 2 000 € a month
DETTE_MAX_CENTS = 10_000_000       # 100 000 €
MIN_DATE = date(2000, 1, 1)
MAX_FUTURE_DAYS = 366
COLOCATAIRES_MAX = 20
CREATION_WINDOW_PAST = timedelta(days=31)  # same window as edi.formats.check_envelope
CREATION_WINDOW_FUTURE = timedelta(minutes=10)


def anomalie(code: str, detail: str | None = None) -> Anomalie:
    severite, libelle = CODES[code]
    return Anomalie(code, f"{libelle} : {detail}" if detail else libelle, severite)


fmt_euros = euros_centimes


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


def signalement_tardif(date_constitution: date, date_signalement: date) -> bool:
    """R824-4: reported more than two months after the impayé was constituted."""
    return date_signalement > add_months(date_constitution, 2)


# ---------------------------------------------------------------- envelope

def check_envelope(env: dict, *, code_bailleur: str | None, siren: str | None,
                   received_at: datetime, derniere_sequence: int | None,
                   receveur_attendu: str | None = None,
                   receveur_siren_attendu: str | None = None) -> list[Anomalie]:
    """Envelope rules known at the start of the file (the record count is checked at the end
    with `check_record_count`). `env` keys: emetteur, destinataire, date_creation (naive UTC
    datetime), numero_sequence."""
    out: list[Anomalie] = []
    emetteur = (env.get("emetteur") or "").strip()
    if not code_bailleur or emetteur != code_bailleur:
        out.append(anomalie("EMETTEUR_INCORRECT", f"code « {emetteur[:40]} » au lieu de "
                            f"« {code_bailleur or '(aucun code bailleur)'} »"))
    emetteur_siren = env.get("emetteur_siren")
    if emetteur_siren is not None and siren and emetteur_siren != siren:
        out.append(anomalie("EMETTEUR_INCORRECT", f"SIREN « {emetteur_siren[:20]} » au lieu de « {siren} »"))
    if receveur_attendu and env.get("destinataire") and env["destinataire"] != receveur_attendu:
        out.append(anomalie("DESTINATAIRE_INCORRECT", f"attendu « {receveur_attendu} »"))
    elif (receveur_siren_attendu and env.get("destinataire_siren") is not None
          and env["destinataire_siren"] != receveur_siren_attendu):
        out.append(anomalie("DESTINATAIRE_INCORRECT",
                            f"SIREN « {env['destinataire_siren'][:20]} » au lieu de « {receveur_siren_attendu} »"))
    created = env.get("date_creation")
    if created is not None:
        if created > received_at + CREATION_WINDOW_FUTURE:
            out.append(anomalie("DATE_CREATION_FUTURE", date_heure(created, fuseau=True)))
        elif created < received_at - CREATION_WINDOW_PAST:
            out.append(anomalie("DATE_CREATION_ANCIENNE",
                                f"{date_heure(created, fuseau=True)}, plus de "
                                f"{CREATION_WINDOW_PAST.days} jours avant la réception"))
    seq = env.get("numero_sequence")
    if seq is not None and derniere_sequence is not None:
        if seq <= derniere_sequence:
            out.append(anomalie("SEQUENCE_INCORRECTE",
                                f"{seq} reçu, le dernier fichier accepté portait le {derniere_sequence}"))
        elif seq > derniere_sequence + 1:
            out.append(anomalie("SEQUENCE_NON_CONSECUTIVE",
                                f"{seq} reçu après {derniere_sequence}"))
    return out


def check_record_count(annonce: int | None, lus: int) -> list[Anomalie]:
    if annonce is not None and annonce != lus:
        return [anomalie("NOMBRE_ENREGISTREMENTS_INCORRECT", f"{annonce} annoncé(s), {lus} lu(s)")]
    return []


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
        out.append(anomalie("LOCATAIRE_INCONNU", _who(rec)))
    if not _amount_ok(rec.get("loyer_cents"), LOYER_MAX_CENTS, minimum=1):
        out.append(anomalie("MONTANT_INVRAISEMBLABLE", f"loyer de {fmt_euros(rec.get('loyer_cents') or 0)}"))
    if not _amount_ok(rec.get("charges_cents"), CHARGES_MAX_CENTS):
        out.append(anomalie("MONTANT_INVRAISEMBLABLE", f"charges de {fmt_euros(rec.get('charges_cents') or 0)}"))
    if not _date_ok(rec.get("date_effet"), today):
        out.append(anomalie("DATE_INVRAISEMBLABLE", f"date d'effet {_d(rec.get('date_effet'))}"))
    n = rec.get("nb_colocataires")
    if n is not None and not 1 <= n <= COLOCATAIRES_MAX:
        out.append(anomalie("COLOCATAIRES_INVRAISEMBLABLE", str(n)))
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
        out.append(anomalie("LOCATAIRE_INCONNU", _who(rec)))
    if not _date_ok(d, today):
        out.append(anomalie("DATE_INVRAISEMBLABLE", f"date du mouvement {_d(d)}"))
    # The rent an entry states becomes the current rent: same bounds as a LOYERS record's.
    for key, maximum, minimum in (("loyer_cents", LOYER_MAX_CENTS, 1), ("charges_cents", CHARGES_MAX_CENTS, 0)):
        if rec.get(key) is not None and not _amount_ok(rec[key], maximum, minimum=minimum):
            out.append(anomalie("MONTANT_INVRAISEMBLABLE", f"{key.split('_')[0]} de {fmt_euros(rec[key])}"))
    if tenancy is not None and d is not None:
        entree, sortie = tenancy.get("date_entree"), tenancy.get("date_sortie")
        if kind == "SORTIE" and entree is not None and d < entree:
            out.append(anomalie("MOUVEMENT_INCOHERENT",
                                f"sortie le {_d(d)} avant l'entrée du {_d(entree)}"))
        if kind == "SORTIE" and sortie is not None and sortie != d:
            out.append(anomalie("MOUVEMENT_INCOHERENT", f"sortie déjà enregistrée le {_d(sortie)}"))
        if kind == "ENTREE" and sortie is None and entree is not None and entree != d:
            out.append(anomalie("MOUVEMENT_INCOHERENT",
                                f"bail en cours depuis le {_d(entree)}, sans sortie"))
    return out


def check_impaye(rec: dict, tenancy: dict | None, today: date) -> list[Anomalie]:
    out = []
    if tenancy is None:
        out.append(anomalie("LOCATAIRE_INCONNU", _who(rec)))
    dette = rec.get("montant_dette_cents")
    mensuel = rec.get("loyer_mensuel_cents")
    if not _amount_ok(dette, DETTE_MAX_CENTS, minimum=1):
        out.append(anomalie("MONTANT_INVRAISEMBLABLE", f"dette de {fmt_euros(dette or 0)}"))
    if not _amount_ok(mensuel, LOYER_MAX_CENTS + CHARGES_MAX_CENTS, minimum=1):
        out.append(anomalie("MONTANT_INVRAISEMBLABLE", f"loyer mensuel de {fmt_euros(mensuel or 0)}"))
    constitution = rec.get("date_constitution")
    debut, fin = rec.get("periode_debut"), rec.get("periode_fin")
    if not (constitution is not None and MIN_DATE <= constitution <= today):
        out.append(anomalie("DATE_INVRAISEMBLABLE", f"date de constitution {_d(constitution)}"))
        constitution = None
    if debut is None or fin is None or debut > fin or fin > today or debut < MIN_DATE:
        out.append(anomalie("PERIODE_INCOHERENTE", f"du {_d(debut)} au {_d(fin)}"))
    elif constitution is not None and constitution < debut:
        out.append(anomalie("PERIODE_INCOHERENTE",
                            f"constitution le {_d(constitution)} avant le début de la période ({_d(debut)})"))
    if out:
        return out
    aide = tenancy.get("aide_mensuelle_cents") or 0
    tiers = bool(tenancy.get("tiers_payant"))
    known = (tenancy.get("loyer_cents") or 0) + (tenancy.get("charges_cents") or 0)
    if known and known != mensuel:
        out.append(anomalie("LOYER_DIFFERENT", f"{fmt_euros(mensuel)} déclaré, {fmt_euros(known)} connu"))
    if not impaye_constitue(dette, mensuel, aide, tiers):
        seuil = seuil_impaye(mensuel, aide, tiers)
        net = " net de l'aide versée en tiers payant" if tiers and aide else ""
        out.append(anomalie("IMPAYE_NON_CONSTITUE",
                            f"dette de {fmt_euros(dette)} inférieure au seuil de {fmt_euros(seuil)} "
                            f"(deux mois de loyer et charges{net})"))
    elif signalement_tardif(constitution, today):
        out.append(anomalie("IMPAYE_SIGNALE_TARDIVEMENT",
                            f"constitué le {_d(constitution)}, signalé le {_d(today)}"))
    return out


CHECKS = {"LOYERS": check_loyer, "MOUVEMENTS": check_mouvement, "IMPAYES": check_impaye}


def check_record(flux: str, rec: dict, tenancy: dict | None, today: date) -> list[Anomalie]:
    return CHECKS[flux](rec, tenancy, today)


def summarise(anomalies: list[Anomalie]) -> tuple[bool, str, str, str]:
    """(accepted, main code, label, severity) for a record's list of anomalies."""
    if not anomalies:
        return ACCEPTED
    errors = [a for a in anomalies if a.severite == ERREUR]
    warnings = [a for a in anomalies if a.severite == AVERTISSEMENT]
    if errors:
        return False, errors[0].code, " ; ".join(a.libelle for a in errors + warnings), ERREUR
    if warnings:
        return True, warnings[0].code, " ; ".join(a.libelle for a in warnings), AVERTISSEMENT
    return True, "ENREGISTREMENT_ACCEPTE", CODES["ENREGISTREMENT_ACCEPTE"][1], INFO


ACCEPTED = (True, "ENREGISTREMENT_ACCEPTE", CODES["ENREGISTREMENT_ACCEPTE"][1], INFO)

# Flows whose checks need the tenancy's details (dates, rent, housing aid); the others only need
# to know whether it exists, which the pipeline checks set-based after staging (then re-runs
# the checks with tenancy=None for the records that are not a tenancy of the landlord).
NEEDS_TENANCY_DETAILS = frozenset({"MOUVEMENTS", "IMPAYES"})
TENANCY_UNCHECKED: dict = {}


def file_outcome(nb_lus: int, nb_acceptes: int, nb_rejetes: int) -> str:
    """TRAITE / TRAITE_PARTIEL / REJETE from record counts."""
    if nb_lus and nb_acceptes == nb_lus:
        return "TRAITE"
    if nb_acceptes:
        return "TRAITE_PARTIEL"
    return "REJETE"


def _who(rec: dict) -> str:
    return f"locataire {rec.get('code_locataire') or '?'}, allocataire {rec.get('numero_allocataire') or '?'}"


def _d(d) -> str:
    return d.strftime("%d/%m/%Y") if d else "absente"
