"""CDAP settings (CDAP_* environment variables), validated at start-up like the shell's."""
from __future__ import annotations

from portal.config import ConfigError, _int

DEFAULTS = {
    # name: (default, minimum, maximum)
    "CDAP_JOURNAL_RETENTION_MONTHS": (12, 1, 60),
    "CDAP_DAILY_ALERT": (60, 1, 100_000),          # consultations per user and day -> alert
    "CDAP_DAILY_SUSPEND": (120, 1, 100_000),       # -> suspension
    "CDAP_NIGHT_ALERT": (3, 1, 100_000),           # consultations at night (same night) -> alert
    "CDAP_NIGHT_SUSPEND": (15, 1, 100_000),
    "CDAP_NOTFOUND_ALERT": (5, 1, 1000),           # not found / refused in a row -> alert
    "CDAP_NOTFOUND_SUSPEND": (10, 1, 1000),
    "CDAP_NIGHT_START_HOUR": (22, 0, 23),          # Europe/Paris local time
    "CDAP_NIGHT_END_HOUR": (6, 0, 23),
    "CDAP_SUSPENSION_HOURS": (24, 1, 24 * 30),
    # unpaid-rent cases (cdap.situations): first contact expected within N working days of the
    # signal (Paris calendar, public holidays excluded); closed cases purged after N months
    "CDAP_CONTACT_DELAY_WORKING_DAYS": (10, 1, 60),
    "CDAP_SITUATION_RETENTION_MONTHS": (24, 1, 120),
}


def load(config: dict) -> dict:
    """Return the validated CDAP settings (ints); raise ConfigError naming the bad one."""
    out = {}
    for name, (default, minimum, maximum) in DEFAULTS.items():
        raw = config.get(name)
        env = {name: str(raw)} if raw is not None else {}
        out[name] = _int(env, name, default, minimum=minimum, maximum=maximum)
    for kind in ("DAILY", "NIGHT", "NOTFOUND"):
        if out[f"CDAP_{kind}_SUSPEND"] <= out[f"CDAP_{kind}_ALERT"]:
            raise ConfigError(f"CDAP_{kind}_SUSPEND doit être supérieur à CDAP_{kind}_ALERT")
    if out["CDAP_NIGHT_START_HOUR"] == out["CDAP_NIGHT_END_HOUR"]:
        raise ConfigError("CDAP_NIGHT_START_HOUR et CDAP_NIGHT_END_HOUR doivent différer")
    out["CDAP_ATYPICAL_EXEMPT_TOKENS"] = _exempt_tokens(config)
    return out


def _exempt_tokens(config: dict) -> bool:
    """CDAP_ATYPICAL_EXEMPT_TOKENS=1: API tokens get alerts but are never suspended for atypical
    use. Tests only (the schemathesis run of tests/portal/test_api_schemathesis.py, whose bursts
    of consultations would otherwise answer 403 after a few calls): refused outside testing."""
    raw = str(config.get("CDAP_ATYPICAL_EXEMPT_TOKENS") or "0")
    if raw not in ("0", "1"):
        raise ConfigError(f"CDAP_ATYPICAL_EXEMPT_TOKENS doit valoir 0 ou 1 (reçu {raw!r})")
    if raw == "1" and config.get("PORTAL_ENV") != "testing":
        raise ConfigError("CDAP_ATYPICAL_EXEMPT_TOKENS est réservé aux tests (PORTAL_ENV=testing) : "
                          "un jeton d'API reste soumis à la suspension pour usage atypique")
    return raw == "1"


def configure(app) -> None:
    """At start-up (``portal.registry.Domain.configure``): the validated settings, read by CDAP
    through ``app.config["CDAP_SETTINGS"]``."""
    app.config["CDAP_SETTINGS"] = load(app.config)
    app.config["CDAP_JOURNAL_RETENTION_MONTHS"] = app.config["CDAP_SETTINGS"]["CDAP_JOURNAL_RETENTION_MONTHS"]
