"""A partner with an indu on its réel 2025 and the prévisionnels 2026 of two équipements
validated: what the payment hand-off works on."""
from datetime import date, datetime
from types import SimpleNamespace

import pytest

from afas import services
from afas.paiement.coordonnees import record_bank_details
from afas.paiement.models import Indu
from portal.extensions import db

from ..helpers import alsh, eaje

IBAN = "FR7630006000011234567890189"


def validated(eq, annee, type_, data, w, on: datetime):
    decl = services.create_declaration(eq, annee, type_, w.manager)
    services.save_draft(decl, data, {}, w.manager)
    try:
        services.transmit(decl, w.manager, now=on)
    except services.ActionRefused as exc:  # alerts justified, as the partner would
        codes = [k.removeprefix("justification_") for k in exc.problems]
        services.save_draft(decl, data, {c: "Activité réduite cette année." for c in codes}, w.manager)
        services.transmit(decl, w.manager, now=on)
    services.validate(decl, w.agent, now=on)
    return decl


@pytest.fixture
def paiement_world(afas_world):
    """afas_world + a réel 2025 of the crèche far below its prévisionnel (indu) + the prévisionnels
    2026 of the crèche and the ALSH validated on 15 January 2026, the partner's bank reference."""
    w = afas_world
    reel = validated(w.creche, 2025, "reel", eaje(heures_realisees="30000", heures_facturees="31000"), w,
                     datetime(2026, 1, 12, 9, 0))
    indu = db.session.query(Indu).filter_by(declaration_id=reel.id).one()
    record_bank_details(w.org, IBAN, None, "Crèche Les Lutins", w.agent)
    prev_creche = validated(w.creche, 2026, "previsionnel", eaje(), w, datetime(2026, 1, 15, 9, 0))
    prev_alsh = validated(w.alsh, 2026, "previsionnel", alsh(), w, datetime(2026, 1, 15, 9, 0))
    db.session.flush()
    return SimpleNamespace(**vars(w), reel=reel, indu=indu, prev_creche=prev_creche, prev_alsh=prev_alsh,
                           march=date(2026, 3, 2))
