"""The portal's Jinja environment (portal.templating): `d.name` on a plain dict reads the key
without first failing an attribute lookup, and answers what Jinja answers."""
from __future__ import annotations

from collections import OrderedDict

import jinja2.environment
import pytest

from portal.templating import Environment


def render(app, source: str, **context) -> str:
    with app.app_context():
        return app.jinja_env.from_string(source).render(**context)


def test_the_app_uses_the_portal_environment(app):
    assert isinstance(app.jinja_env, Environment)


def test_a_key_of_a_plain_dict_is_read_without_an_attribute_lookup(app, monkeypatch):
    attribute_lookups = []

    def counting_getattr(obj, name, *default):
        attribute_lookups.append(name)
        return getattr(obj, name, *default)

    # jinja2.environment calls the builtin through its module's globals
    monkeypatch.setattr(jinja2.environment, "getattr", counting_getattr, raising=False)
    assert render(app, "{{ view.identite.nom }}", view={"identite": {"nom": "Lefèvre"}}) == "Lefèvre"
    assert attribute_lookups == []


@pytest.mark.parametrize("source, expected", [
    ("{{ d.a }}", "1"),
    ("{{ d.missing is undefined }}", "True"),
    # a name of dict's own is still the method, even when the dict has that key
    ("{{ d.items()|list|length }}", "2"),
    ("{{ d.get('a') }}", "1"),
    ("{{ d.keys is callable }}", "True"),
])
def test_the_answers_are_jinjas(app, source, expected):
    assert render(app, source, d={"a": 1, "items": 5}) == expected


def test_other_mappings_keep_jinjas_lookup(app):
    assert render(app, "{{ d.a }} {{ d.missing is undefined }}", d=OrderedDict(a=3)) == "3 True"
