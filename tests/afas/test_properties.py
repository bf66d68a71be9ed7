"""Hypothesis: the droit is never negative, never above its formula's cap; checks are deterministic;
acomptes are never dated before the day they are scheduled and never pay more than 70 %."""
from datetime import date

from hypothesis import HealthCheck, given, settings, strategies as st

from afas.controles import evaluate
from afas.droit import compute_droit, schedule_acomptes
from afas.schema import fields_for
from afas.validation import parse_declaration

from .helpers import bareme

BAREMES = {y: bareme(y) for y in (2024, 2025, 2026)}


def value_for(f):
    if f.kind == "booleen":
        return st.booleans()
    if f.kind == "entier":
        return st.integers(min_value=0, max_value=int(min(f.maximum, 10**6)))
    return st.floats(min_value=0, max_value=min(f.maximum, 10**7), allow_nan=False).map(lambda x: round(x, 2))


def declaration(kind):
    return st.fixed_dictionaries({f.key: value_for(f) for f in fields_for(kind)})


any_declaration = st.sampled_from(["EAJE", "ALSH", "RPE", "LAEP"]).flatmap(
    lambda kind: st.tuples(st.just(kind), declaration(kind)))

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(any_declaration, st.sampled_from(sorted(BAREMES)))
def test_droit_never_negative_nor_above_cap(kind_data, year):
    kind, data = kind_data
    parsed = parse_declaration(kind, data)
    result = compute_droit(kind, parsed.values, BAREMES[year])
    if result.montant is None:
        return
    assert result.montant >= 0
    assert result.montant <= result.plafond_formule + 0.01


@SETTINGS
@given(any_declaration, st.sampled_from(["previsionnel", "reel", "actualise_juin"]),
       st.one_of(st.none(), st.floats(min_value=1, max_value=1e7)), st.one_of(st.none(), st.floats(min_value=0.01, max_value=100)))
def test_checks_are_deterministic(kind_data, decl, dp, cost):
    kind, data = kind_data
    history = {"droit_previsionnel": dp, "prix_revient_reel_n1": cost}
    first = evaluate(kind, decl, data, BAREMES[2025], history).as_dict()
    second = evaluate(kind, decl, dict(reversed(list(data.items()))), BAREMES[2025], dict(history)).as_dict()
    assert first == second


@SETTINGS
@given(st.dictionaries(st.sampled_from([f.key for f in fields_for("EAJE")]),
                       st.one_of(st.text(max_size=50), st.integers(), st.floats(), st.booleans(), st.none())))
def test_arbitrary_input_never_crashes(raw):
    ev = evaluate("EAJE", "reel", raw, BAREMES[2025], {"droit_previsionnel": 1000.0})
    assert ev.droit.montant is None or ev.droit.montant >= 0
    for message in ev.parsed.messages.values():
        assert message


@SETTINGS
@given(st.floats(min_value=0, max_value=1e7).map(lambda x: round(x, 2)),
       st.floats(min_value=0, max_value=1e7).map(lambda x: round(x, 2)),
       st.dates(min_value=date(2024, 11, 1), max_value=date(2026, 6, 30)))
def test_acomptes_never_before_their_day_and_exactly_70_percent(droit, paid, on):
    echeances = schedule_acomptes(droit, 2025, BAREMES[2025], deja_verse=paid, on=on)
    assert all(e.date_prevue >= on and e.montant > 0 and e.montant == round(e.montant, 2) for e in echeances)
    assert len({e.date_prevue for e in echeances}) == len(echeances)
    total = round(droit * 0.7, 2)
    assert round(sum(e.montant for e in echeances), 2) == max(0.0, round(total - paid, 2))
