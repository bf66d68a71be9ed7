"""Password hashing (Argon2id) and the CNIL-style password policy:
at least 12 characters, long passphrases of any characters allowed, no composition rule,
and a blocklist of common passwords."""
from __future__ import annotations

import unicodedata
from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 128

# OWASP's Password Storage Cheat Sheet, Argon2id, first of its equivalent minimum settings:
# 19 MiB of memory, 2 passes, 1 lane. Not below it (tests/portal/test_security.py). The library's
# default (RFC 9106 « low memory »: 64 MiB, 3 passes, 4 lanes) cost 238 ms of CPU per sign-in on
# four threads, about 1 s under load on 2 cores; this one 36 ms on one (docs/security.md).
OWASP_MINIMUM = {"memory_cost": 19_456, "time_cost": 2, "parallelism": 1}


def _recommended() -> PasswordHasher:
    return PasswordHasher(**OWASP_MINIMUM)  # Argon2id (the library's default type)


_hasher = _recommended()
_DUMMY_HASH = _hasher.hash("mot de passe factice pour égaliser les temps")


def configure(profile: str) -> None:
    """PASSWORD_HASH_PROFILE: "default" (Argon2id at OWASP's recommended minimum) or
    "fast" (Argon2id with the cheapest parameters, for the test suite only; refused in
    production by the settings). Hashes carry their parameters, so a "fast" hash met in
    production is upgraded at the next sign-in (`needs_rehash`), and so is a hash made with other
    parameters (the library's heavier default before)."""
    global _hasher, _DUMMY_HASH
    if profile == "fast":
        from argon2.profiles import CHEAPEST
        _hasher = PasswordHasher.from_parameters(CHEAPEST)
    else:
        _hasher = _recommended()
    _DUMMY_HASH = _hasher.hash("mot de passe factice pour égaliser les temps")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-ish time: an unknown user is checked against a dummy hash."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# Keyboard rows and counting sequences: "123456789012", "azertyuiopqs"... are guessed at once.
_SEQUENCES = tuple(seq * 4 for seq in (
    "0123456789", "9876543210", "abcdefghijklmnopqrstuvwxyz", "zyxwvutsrqponmlkjihgfedcba",
    "azertyuiopqsdfghjklmwxcvbn", "qwertyuiopasdfghjklzxcvbnm", "&é\"'(-è_çà",
))


@lru_cache(maxsize=1)
def _blocklist() -> frozenset[str]:
    text = resources.files("portal").joinpath("data/common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def password_problems(password: str, *, email: str = "", names: tuple[str, ...] = ()) -> list[str]:
    """Return the reasons a new password is refused (empty list: accepted)."""
    problems = []
    normalized = unicodedata.normalize("NFC", password)
    if len(normalized) < MIN_LENGTH:
        problems.append(f"Le mot de passe doit compter au moins {MIN_LENGTH} caractères.")
    if len(normalized) > MAX_LENGTH:
        problems.append(f"Le mot de passe ne peut pas dépasser {MAX_LENGTH} caractères.")
    lowered = normalized.lower()
    if lowered in _blocklist() or lowered.rstrip("0123456789!.") in _blocklist():
        problems.append("Ce mot de passe est trop courant : choisissez-en un autre.")
    if len(lowered) >= 6 and any(lowered in seq for seq in _SEQUENCES):
        problems.append("Une suite de touches ou de chiffres se devine trop facilement.")
    local = email.split("@")[0].lower()
    if local and len(local) >= 4 and local in lowered:
        problems.append("Le mot de passe ne doit pas contenir votre identifiant.")
    if len(set(lowered)) <= 2 and lowered:
        problems.append("Le mot de passe est trop répétitif.")
    return problems
