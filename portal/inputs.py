"""Numbers from the client, bounded before they reach the database (issue #18).

Identifiers are `integer` columns: 32 bits on PostgreSQL, where a larger value is an error
("integer out of range"), and 64 bits on SQLite (OverflowError beyond). So:

- `<int:...>` in every URL only matches 0..ID_MAX: a larger number does not match the route and
  answers 404 like any unknown address (`IdConverter`, installed by `init_app` in the factory);
- `int_arg("page", 1)` reads an integer query parameter, or answers 400 with a French message;
- `parse_int` / `is_id` check a number read from a form or a JSON body;
- every JSON the app reads (`request.get_json()`, Flask-WTF's JSON forms, `portal.api.json_body`)
  goes through `SafeJSONProvider`: at most MAX_JSON_DEPTH levels of nesting (checked before
  parsing: the standard parser recurses and a body of 50,000 "[" was a RecursionError), integers
  within 64 bits (the widest column), no NaN or Infinity. A refusal is a ValueError, which Flask
  turns into a 400.
"""
from __future__ import annotations

import json
import math
import re

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter

from .errors import refuse

ID_MAX = 2**31 - 1  # PostgreSQL `integer`, the type of every identifier column
INT64_MAX = 2**63 - 1  # PostgreSQL `bigint`, SQLite's INTEGER: the widest integer column
MAX_JSON_DEPTH = 32

_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")  # ASCII digits only, nothing int() alone would accept


def digits_up_to(maximum: int) -> str:
    """A regular expression for the decimal numbers 0..maximum (ASCII digits): the route itself
    refuses a larger one (werkzeug checks a converter's bounds only after the method, so an
    out-of-range value on an address with GET and POST rules would answer 405, not 404)."""
    top = str(maximum)
    options = [f"[0-9]{{1,{len(top) - 1}}}"] if len(top) > 1 else []
    for i, digit in enumerate(top):
        if digit != "0":
            rest = len(top) - i - 1
            options.append(top[:i] + f"[0-{int(digit) - 1}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    options.append(top)
    return "(?:" + "|".join(options) + ")"


class IdConverter(IntegerConverter):
    """`<int:...>` that only matches 0..ID_MAX: a larger value never reaches a view, the address
    does not exist (404). `<int(max=...):...>` sets another bound."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None,  # noqa: A002
                 max: int = ID_MAX, signed: bool = False) -> None:  # noqa: A002
        self.regex = digits_up_to(max)
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
        if signed and min is None:
            self.min = -max - 1


def parse_int(text: str | None, *, minimum: int, maximum: int) -> int | None:
    """The integer written in `text` if it lies in [minimum, maximum], else None."""
    text = (text or "").strip()
    if not _INTEGER.fullmatch(text):
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None


def is_id(value) -> bool:
    """An identifier from a JSON body: an integer (not a boolean) the id columns can hold."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= ID_MAX


def int_arg(name: str, default: int, *, minimum: int = 1, maximum: int = ID_MAX,
            blank_is_absent: bool = True) -> int:
    """Integer query parameter: `default` when absent (or empty: a page's GET form sends
    `?page=`); 400 (French message, shown on the error page or as the problem+json `detail`) when
    it is not an integer in range. The API passes `blank_is_absent=False`: `?page=` is no
    integer, refused like any other (its document says `integer`)."""
    raw = request.args.get(name)
    if raw is None or (blank_is_absent and not raw.strip()):
        return default
    value = parse_int(raw, minimum=minimum, maximum=maximum)
    if value is None:
        refuse(400, f"Le paramètre « {name} » doit être un nombre entier compris entre {minimum} "
                    f"et {maximum}.")
    return value


class JsonRefused(ValueError):
    """A JSON document the portal does not read (the message, in French, says why)."""


# The parts of a JSON text that matter for its depth: strings (skipped whole, brackets inside
# them do not count) and brackets. Linear: the string pattern has no ambiguous repetition.
_JSON_STRUCTURE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


def check_json_depth(text: str, limit: int = MAX_JSON_DEPTH) -> None:
    depth = 0
    for match in _JSON_STRUCTURE.finditer(text):
        char = match.group()
        if char in "[{":
            depth += 1
            if depth > limit:
                raise JsonRefused(f"Document JSON trop imbriqué : {limit} niveaux au plus.")
        elif char in "]}":
            depth -= 1


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > 19 or not -INT64_MAX - 1 <= (value := int(text)) <= INT64_MAX:
        raise JsonRefused("Nombre entier trop grand : 64 bits au plus.")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRefused("Nombre décimal hors des limites.")
    return value


def _no_constant(name: str):
    raise JsonRefused(f"Valeur « {name} » refusée : un nombre JSON est attendu.")


class SafeJSONProvider(DefaultJSONProvider):
    def loads(self, s: str | bytes, **kwargs):
        if isinstance(s, (bytes, bytearray)):
            s = s.decode(json.detect_encoding(s), "surrogatepass")  # as json.loads does
        check_json_depth(s)
        kwargs.setdefault("parse_int", _bounded_int)
        kwargs.setdefault("parse_float", _finite_float)
        kwargs.setdefault("parse_constant", _no_constant)
        return json.loads(s, **kwargs)


def refuse_json_on_pages():
    """before_request: the pages take forms (urlencoded or multipart), JSON is for /api/."""
    if request.is_json and request.method not in ("GET", "HEAD", "OPTIONS") \
            and not request.path.startswith("/api/"):
        refuse(415, "Les pages du portail reçoivent des formulaires, pas du JSON : "
                    "les logiciels utilisent l'API (/api/v1).")


def init_app(app: Flask) -> None:
    """Before any blueprint is registered: routes pick their converters when they are added."""
    app.url_map.converters["int"] = IdConverter
    app.json = SafeJSONProvider(app)
    app.before_request(refuse_json_on_pages)
