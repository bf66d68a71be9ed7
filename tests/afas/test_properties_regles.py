"""Hypothesis properties of the rules of #21: the plafond never rises with the taux de facturation
(bands and linear rule), the bonuses grow with what they reward, the droit of every type (the
barème-only ones too, with any territoire) is never negative nor above its cap."""
from hypothesis import HealthCheck, given, settings, strategies as st

from afas import bonus
from afas.droit import compute_droit, eaje_plafond
from afas.validation import parse_declaration

from .helpers import alsh, bareme, eaje
from .test_properties import declaration

YEARS = (2023, 2024, 2025, 2026, 2027)
BAREMES = {y: bareme(y) for y in YEARS}
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
taux = st.floats(min_value=0, max_value=3, allow_nan=False)
territoires = st.one_of(st.none(), st.fixed_dictionaries({
    "zone": st.sampled_from([None, "QPV", "ZRR"]), "ctg": st.booleans(),
    "places": st.integers(min_value=0, max_value=500), "valide": st.booleans()}))


@SETTINGS
@given(st.sampled_from(YEARS), st.booleans(), taux, taux)
def test_plafond_never_rises_with_the_taux_de_facturation(year, couches, a, b):
    low, high = sorted((a, b))
    assert eaje_plafond(BAREMES[year], couches, high)[0] <= eaje_plafond(BAREMES[year], couches, low)[0] + 1e-9


@SETTINGS
@given(st.sampled_from(YEARS), st.integers(min_value=1, max_value=500), st.integers(min_value=0, max_value=500),
       st.integers(min_value=0, max_value=500))
def test_handicap_bonus_grows_with_the_share_of_aeeh_children(year, inscrits, a, b):
    low, high = sorted((min(a, inscrits), min(b, inscrits)))
    eaje_doc = BAREMES[year]["eaje"]
    assert bonus.handicap_par_place(eaje_doc, inscrits, low)[0] <= bonus.handicap_par_place(eaje_doc, inscrits, high)[0]
    assert (bonus.handicap_par_place(eaje_doc, inscrits, high)[0] > 0) == (high > 0)   # from the first child


@SETTINGS
@given(st.integers(min_value=0, max_value=30000), st.integers(min_value=0, max_value=30000),
       st.integers(min_value=0, max_value=53), st.integers(min_value=0, max_value=106))
def test_plan_mercredi_droit_grows_with_wednesday_hours(a, b, journees, demi):
    low, high = sorted((a, b))

    def montant(h):
        data = alsh(plan_mercredi="oui", mercredis_journee=journees, mercredis_demi_journee=demi, heures_mercredi=h)
        return compute_droit("ALSH", parse_declaration("ALSH", data).values, BAREMES[2025]).montant
    assert 52200 <= montant(low) <= montant(high)


@SETTINGS
@given(st.integers(min_value=0, max_value=500), st.integers(min_value=0, max_value=500), st.booleans())
def test_territoire_bonus_grows_with_the_places(a, b, ctg):
    low, high = sorted((a, b))

    def montant(places):
        ctx = {"territoire": {"zone": None, "ctg": ctg, "places": places, "valide": True}}
        return compute_droit("EAJE", parse_declaration("EAJE", eaje()).values, BAREMES[2026], ctx).montant
    assert montant(low) <= montant(high)


@SETTINGS
@given(st.sampled_from(["PSJ", "FJT"]), st.floats(min_value=0, max_value=1e6), st.floats(min_value=0, max_value=1e6),
       st.integers(min_value=0, max_value=100))
def test_per_unit_types_grow_with_expenses_and_units(kind, a, b, units):
    low, high = sorted((round(a, 2), round(b, 2)))
    unit, spend = ("etp_animateur", "total_charges") if kind == "PSJ" else ("residents", "charges_socio_educatives")

    def montant(expenses, n):
        return compute_droit(kind, {unit: n, spend: expenses}, BAREMES[2025]).montant
    assert 0 <= montant(low, units) <= montant(high, units) <= montant(high, units + 1)


@SETTINGS
@given(st.sampled_from(["EAJE", "ALSH", "RPE", "LAEP", "PSJ", "FJT"]).flatmap(
    lambda kind: st.tuples(st.just(kind), declaration(kind))), st.sampled_from(YEARS), territoires)
def test_droit_never_negative_nor_above_cap_for_every_type_and_year(kind_data, year, territoire):
    kind, data = kind_data
    result = compute_droit(kind, parse_declaration(kind, data).values, BAREMES[year], {"territoire": territoire})
    if result.montant is None:
        return
    assert 0 <= result.montant <= result.plafond_formule + 0.01
