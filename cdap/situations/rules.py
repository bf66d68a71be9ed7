"""Rules of the unpaid-rent follow-up, as pure functions (no Flask, no database): the French
public holidays and working days on the Paris calendar, the due dates of a case with their legal
basis, the household's reste-à-vivre with its formula.

Dates are the Paris calendar's days (``portal.dates.today``); amounts are integer cents.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from portal.dates import add_months
from portal.formatting import accord, euros_centimes

PLAN_MONTHS = 6            # plan d'apurement expected within 6 months of the signal
RENEGOCIATION_MAX_MONTHS = 3  # aid maintained at most 3 months to renegotiate a plan


def easter(year: int) -> date:
    """Easter Sunday (Gregorian calendar, anonymous algorithm of Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ll = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ll) // 451
    month = (h + ll - 7 * m + 114) // 31
    day = (h + ll - 7 * m + 114) % 31 + 1
    return date(year, month, day)


@lru_cache(maxsize=64)
def public_holidays(year: int) -> frozenset[date]:
    """The 11 public holidays of metropolitan France (Code du travail L3133-1), without the two
    extra days of Alsace-Moselle: the Caf de la Somme's calendar."""
    e = easter(year)
    return frozenset({
        date(year, 1, 1), e + timedelta(days=1), date(year, 5, 1), date(year, 5, 8),
        e + timedelta(days=39), e + timedelta(days=50), date(year, 7, 14), date(year, 8, 15),
        date(year, 11, 1), date(year, 11, 11), date(year, 12, 25),
    })


def is_working_day(day: date) -> bool:
    """Monday to Friday, not a public holiday."""
    return day.weekday() < 5 and day not in public_holidays(day.year)


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after `start` (start itself never counts; n >= 0; n = 0: start)."""
    if n < 0:
        raise ValueError("n doit être positif ou nul")
    day = start
    while n:
        day += timedelta(days=1)
        if is_working_day(day):
            n -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days in (start, end]: 0 when end <= start."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count


# --- due dates --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Echeance:
    code: str
    label: str
    due: date
    basis: str          # legal basis or rule, one line
    done: bool = False


def contact_due(signal: date, delay_working_days: int) -> date:
    return add_working_days(signal, delay_working_days)


def contact_overdue(signal: date, first_contact: date | None, today: date, delay_working_days: int) -> bool:
    """True when no contact attempt was recorded within the delay and the delay has passed
    (a contact recorded late still clears the flag: the family has been reached out to)."""
    return first_contact is None and today > contact_due(signal, delay_working_days)


def plan_due(signal: date) -> date:
    return add_months(signal, PLAN_MONTHS)


def renegociation_end(decided: date, months: int) -> date:
    if not 1 <= months <= RENEGOCIATION_MAX_MONTHS:
        raise ValueError("le maintien pour renégocier dure de 1 à 3 mois")
    return add_months(decided, months)


def echeances(*, signal: date, delay_working_days: int, first_contact: date | None,
              plan_agreed: bool, maintien: str | None, maintien_decided: date | None,
              maintien_months: int | None) -> list[Echeance]:
    """The case's due dates, each with its one-line basis, in date order."""
    out = [
        Echeance("contact", "Premier contact avec la famille", contact_due(signal, delay_working_days),
                 f"Offre « impayé de loyer » : contact proactif sous {delay_working_days} jours ouvrés "
                 "après le signalement", done=first_contact is not None),
        Echeance("plan", "Plan d'apurement attendu", plan_due(signal),
                 "CCH art. R824-6 : plan d'apurement dans les 6 mois du signalement, l'aide maintenue "
                 "entre-temps", done=plan_agreed),
        Echeance("maintien", "Décision de la Caf sur le maintien de l'aide", plan_due(signal),
                 "CCH art. R824-6 : sans plan à 6 mois, la Caf décide le maintien ou la suspension",
                 done=maintien is not None),
    ]
    if maintien == "renegociation" and maintien_decided and maintien_months:
        out.append(Echeance("renegociation", "Fin du maintien pour renégocier le plan",
                            renegociation_end(maintien_decided, maintien_months),
                            "CCH art. R824-6 : maintien de 3 mois au plus pour conclure un nouveau plan"))
    return sorted(out, key=lambda e: e.due)  # stable: the plan before the decision it conditions


# --- budget ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ResteAVivre:
    ressources_cents: int
    charges_cents: int
    personnes: int
    mensuel_cents: int           # ressources - charges fixes
    journalier_cents: int        # per person and day (30-day month), rounded down

    def formula(self) -> str:
        """The computation in words, as shown next to the figure."""
        def eur(c):  # the typographic minus of a formula
            return ("−" if c < 0 else "") + euros_centimes(abs(c))
        return (f"Reste à vivre = ressources ({eur(self.ressources_cents)}) − charges fixes "
                f"({eur(self.charges_cents)}) = {eur(self.mensuel_cents)} par mois, soit "
                f"{eur(self.mensuel_cents)} ÷ {accord(self.personnes, 'personne')} ÷ 30 jours = "
                f"{eur(self.journalier_cents)} par jour et par personne")


def reste_a_vivre(ressources_cents: int, charges_cents: int, personnes: int) -> ResteAVivre:
    """Monthly resources minus fixed charges (rent net of the aid included), and the same per
    person and per day over a 30-day month (floor division, in cents: never overstated)."""
    if personnes < 1:
        raise ValueError("le foyer compte au moins une personne")
    if ressources_cents < 0 or charges_cents < 0:
        raise ValueError("montants positifs attendus")
    mensuel = ressources_cents - charges_cents
    return ResteAVivre(ressources_cents, charges_cents, personnes, mensuel, mensuel // (personnes * 30))


def taux_effort(loyer_residuel_cents: int, ressources_cents: int) -> int | None:
    """Rent left to pay (after the aid) over resources, in whole percent; None without resources."""
    if ressources_cents <= 0:
        return None
    return round(100 * loyer_residuel_cents / ressources_cents)
