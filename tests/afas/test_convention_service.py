"""A signed convention in force opens an équipement's AFAS service (#21): the pure rule at the
edges of its dates and of the Paris day, then the services refusing writes outside it."""
from datetime import date, datetime
from types import SimpleNamespace

import pytest

from afas import convention_service as cs
from afas import services
from afas.models import ConventionFinancement

from .conftest import eaje_draft_under_convention
from .helpers import eaje


def conv(debut, fin, signed=True, reference="COF-1"):
    return ConventionFinancement(reference=reference, debut=debut, fin=fin,
                                 signee_le=debut if signed else None, document_sha256="0" * 64 if signed else None)


def eq(*conventions):
    return SimpleNamespace(conventions=list(conventions), libelle="Crèche Les Lutins")


ONE = conv(date(2024, 1, 1), date(2027, 6, 30))


@pytest.mark.parametrize(("on", "expected"), [
    (date(2023, 12, 31), "sans_convention"),   # the day before its first day
    (date(2024, 1, 1), "en_vigueur"),          # first day
    (date(2027, 4, 1), "a_renouveler"),        # 90 days before its end
    (date(2027, 3, 31), "en_vigueur"),         # 91 days before
    (date(2027, 6, 30), "a_renouveler"),       # last day: still in force
    (date(2027, 7, 1), "sans_convention"),     # the day after
])
def test_statut_at_the_edges_of_the_dates(on, expected):
    assert cs.statut([ONE], on) == expected
    assert cs.service_actif(eq(ONE), on) is (expected != "sans_convention")


def test_an_unsigned_convention_opens_nothing_and_a_signed_successor_ends_the_renewal_alert():
    unsigned = conv(date(2024, 1, 1), date(2027, 6, 30), signed=False, reference="COF-BROUILLON")
    assert cs.statut([unsigned], date(2025, 1, 1)) == "sans_convention"
    assert "COF-BROUILLON est enregistrée mais son exemplaire signé n'a pas encore été déposé" \
        in cs.refus_service(eq(unsigned), date(2025, 1, 1))
    draft_next = conv(date(2027, 7, 1), date(2031, 6, 30), signed=False)
    assert cs.statut([ONE, draft_next], date(2027, 6, 1)) == "a_renouveler"
    signed_next = conv(date(2027, 7, 1), date(2031, 6, 30), reference="COF-2")
    assert cs.statut([ONE, signed_next], date(2027, 6, 1)) == "en_vigueur"
    assert cs.statut([ONE, signed_next], date(2027, 7, 1)) == "en_vigueur"   # no gap between the two


def test_the_message_says_why_and_what_to_do():
    message = cs.refus_service(eq(ONE), date(2027, 7, 1))
    assert message.startswith("Service AFAS inactif pour « Crèche Les Lutins »")
    assert "au 01/07/2027 (sa convention COF-1 a pris fin le 30/06/2027)" in message
    assert "restent consultables" in message and "Contactez votre Caf" in message
    later = cs.refus_service(eq(ONE), date(2023, 12, 31))
    assert "ne prend effet que le 01/01/2024" in later
    assert "aucune convention n'a été signée" in cs.refus_service(eq(), date(2025, 1, 1))
    assert cs.refus_service(eq(ONE), date(2027, 6, 30)) is None


@pytest.mark.parametrize(("utc", "paris_day"), [
    (datetime(2027, 6, 30, 21, 59), date(2027, 6, 30)),   # 23:59 in Paris (summer, UTC+2)
    (datetime(2027, 6, 30, 22, 0), date(2027, 7, 1)),     # Paris midnight
    (datetime(2026, 12, 31, 22, 59), date(2026, 12, 31)),  # winter, UTC+1
    (datetime(2026, 12, 31, 23, 0), date(2027, 1, 1)),
])
def test_the_day_is_the_paris_day(utc, paris_day):
    assert cs.jour(utc) == paris_day


def test_a_transmission_at_paris_midnight_after_the_last_day_is_refused(afas_world):
    w = afas_world
    e, decl = eaje_draft_under_convention(w, "Crèche du Parc", f"EAJE-P{w.org.id}",
                                          date(2020, 1, 1), date(2030, 12, 31))
    e.conventions[0].fin = date(2025, 6, 30)
    with pytest.raises(services.ActionRefused) as refused:
        services.transmit(decl, w.manager, now=datetime(2025, 6, 30, 22, 0))   # 1 July, 00:00 in Paris
    assert refused.value.status == 409 and "a pris fin le 30/06/2025" in refused.value.message
    version = services.transmit(decl, w.manager, now=datetime(2025, 6, 30, 21, 59))   # 23:59, last day
    assert version.numero == 1


def test_services_refuse_every_write_outside_a_convention_in_force(afas_world):
    w = afas_world
    draft = services.create_declaration(w.creche, 2026, "previsionnel", w.manager)
    w.creche.conventions[0].fin = date(2025, 12, 31)   # ended: today is later
    for attempt in (lambda: services.create_declaration(w.creche, 2026, "actualise_septembre", w.manager),
                    lambda: services.save_draft(draft, eaje(), {}, w.manager),
                    lambda: services.transmit(draft, w.manager)):
        with pytest.raises(services.ActionRefused) as refused:
            attempt()
        assert refused.value.status == 409 and "Service AFAS inactif" in refused.value.message
    assert draft.status == "brouillon" and not draft.versions
    w.creche.conventions[0].fin = date(2030, 12, 31)   # renewed: writable again
    services.save_draft(draft, eaje(), {}, w.manager)
