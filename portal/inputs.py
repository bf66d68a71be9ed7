"""Numbers from the client, bounded before they reach the database (issue #18).

Identifiers are `integer` columns: 32 bits on PostgreSQL, where a larger value is an error
("integer out of range"), and 64 bits on SQLite (OverflowError beyond). So:

- `<int:...>` in every URL only matches 0..ID_MAX: a larger number does not match the route and
  answers 404 like any unknown address (`IdConverter`, installed by `init_app` in the factory);
- `int_arg("page", 1)` reads an integer query parameter, or answers 400 with a French message;
- `parse_int` / `is_id` check a number read from a form or a JSON body.
"""
from __future__ import annotations

import re

from flask import Flask, request
from werkzeug.routing import IntegerConverter

from .errors import refuse

ID_MAX = 2**31 - 1  # PostgreSQL `integer`, the type of every identifier column

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


def int_arg(name: str, default: int, *, minimum: int = 1, maximum: int = ID_MAX) -> int:
    """Integer query parameter: `default` when absent or empty; 400 (French message, shown on the
    error page or as the problem+json `detail`) when it is not an integer in range."""
    raw = request.args.get(name)
    if raw is None or not raw.strip():
        return default
    value = parse_int(raw, minimum=minimum, maximum=maximum)
    if value is None:
        refuse(400, f"Le paramètre « {name} » doit être un nombre entier compris entre {minimum} "
                    f"et {maximum}.")
    return value


def init_app(app: Flask) -> None:
    """Before any blueprint is registered: routes pick their converters when they are added."""
    app.url_map.converters["int"] = IdConverter
