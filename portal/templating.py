"""The portal's Jinja environment: Flask's, with a cheaper `obj.name` on plain dicts.

Jinja compiles `view.identite` to ``environment.getattr(view, "identite")``, which tries the
attribute first and the item only once the attribute lookup has raised ``AttributeError``. The
pages read their data as dicts (a CDAP file's view is a few hundred such lookups), so every page
paid an exception per lookup: ≈ 0.2 ms of a file page's 1.2 ms of rendering (#22,
bench/README.md).

A plain dict has no attributes beyond its type's, so for any other name the attribute lookup can
only fail: the item is looked up first for those names, and the answer is the one Jinja gives
(``d.items`` is still the method, a missing key still undefined).
"""
from __future__ import annotations

from typing import Any

from flask import Flask
from flask.templating import Environment as FlaskEnvironment

_DICT_ATTRIBUTES = frozenset(dir(dict))


class Environment(FlaskEnvironment):
    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                pass  # Jinja's own lookup gives the undefined value
        return super().getattr(obj, attribute)


class PortalFlask(Flask):
    """Flask with the environment above."""
    jinja_environment = Environment
