"""Demo data for AFAS: the équipements of the Commune d'Amiens (each under a signed convention,
the crèche with a validated territoire, the ALSH under the plan mercredi, a PS Jeunes and a FJT) with a history (validated
prévisionnels and réels of past years, acomptes paid, a régularisation), one declaration waiting
in the Caf's queue and a draft; and a micro-crèche whose convention ended a month ago without a
renewal (its AFAS service is inactive: read-only). Idempotent: nothing is created twice."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from portal.extensions import db
from portal.models import Organisation, User
from portal.registry import DemoAccess

from . import services
from .conventions import record_territoire, upload_signed
from .models import ConventionFinancement, Equipement
from .schema import CHARGE_LINES, PRODUIT_LINES

# AFAS contracts and habilitations on the shell's demo organisations and users (portal.demo).
ACCESS = DemoAccess("AFAS", contrats={"Caf de la Somme": [], "Commune d'Amiens": []},
                    habilitations={"agent.caf@caf80.example": None, "gestionnaire@amiens.example": None})

EQUIPEMENTS = [
    ("EAJE", "Multi-accueil Les Hortillonnages", "EAJE-80-0001", None),
    ("ALSH", "Accueil de loisirs Saint-Leu", "ALSH-80-0002", "periscolaire"),
    ("RPE", "Relais petite enfance Amiens Nord", "RPE-80-0003", None),
    ("LAEP", "LAEP La Passerelle", "LAEP-80-0004", None),
    ("PSJ", "Point jeunes Étouvie", "PSJ-80-0005", None),
    ("FJT", "Foyer de jeunes travailleurs Le Beffroi", "FJT-80-0006", None),
]
# Its signed convention ended 30 days ago: « Sans convention en vigueur » (afas.convention_service).
SANS_CONVENTION = ("EAJE", "Micro-crèche Les Coquelicots", "EAJE-80-0007", None)
DEMO_PDF = b"%PDF-1.4\n% Convention d'objectifs et de financement - document de demonstration\n%%EOF\n"


def _finances(charges: dict, produits: dict) -> dict:
    out = {k: 0 for k, _ in CHARGE_LINES + PRODUIT_LINES}
    out.update(charges)
    out.update(produits)
    out["total_charges"] = round(sum(charges.values()), 2)
    out["total_produits"] = round(sum(produits.values()), 2)
    return out


def demo_data(kind: str, factor: float = 1.0) -> dict:
    f = factor
    if kind == "EAJE":
        return {"places_agreees": 40, "jours_ouverture": 225, "amplitude_horaire": 11,
                "heures_realisees": round(72000 * f), "heures_facturees": round(75000 * f),
                "participations_familiales": round(108000 * f), "couches_repas": True, "enfants_inscrits": 85,
                "enfants_aeeh": 2, "taux_regime_general": 97,
                **_finances({"c60": round(38000 * f), "c61": round(52000 * f), "c62": round(21000 * f),
                             "c63": round(18000 * f), "c64": round(705000 * f), "c65": 4000, "c68": 12000},
                            {"p70": round(110000 * f), "p74": round(700000 * f), "p75": 5000})}
    if kind == "ALSH":
        return {"capacite": 80, "jours_ouverture": 140, "amplitude_horaire": 3, "heures_realisees": round(30000 * f),
                "enfants_accueillis": 150, "taux_regime_general": 95, "plan_mercredi": True,
                "mercredis_journee": 30, "mercredis_demi_journee": 6, "heures_mercredi": round(5000 * f),
                **_finances({"c60": round(15000 * f), "c61": 8000, "c64": round(170000 * f), "c68": 2000},
                            {"p70": round(45000 * f), "p74": round(140000 * f)})}
    if kind == "PSJ":
        return {"etp_animateur": 1.5, "jeunes_accueillis": 140,
                **_finances({"c60": 4000, "c61": 6000, "c64": round(70000 * f)}, {"p74": round(80000 * f)})}
    if kind == "FJT":
        return {"residents": 60, "charges_socio_educatives": round(70000 * f),
                **_finances({"c60": 30000, "c61": 120000, "c64": round(250000 * f)}, {"p70": 300000, "p74": round(100000 * f)})}
    if kind == "RPE":
        return {"etp_animateur": 2, "assistantes_maternelles": 128, "missions_renforcees": True,
                **_finances({"c60": 3000, "c61": 9000, "c64": round(92000 * f), "c68": 1000},
                            {"p74": round(100000 * f)})}
    return {"heures_ouverture": 400, "heures_organisation": 100, "accueillants_par_seance": 2, "familles_accueillies": 60,
            **_finances({"c60": 2000, "c61": 6000, "c64": round(50000 * f)}, {"p74": round(55000 * f)})}


def _declare(eq, annee, type_, data, manager, agent=None, validate=False):
    decl = services.find_declaration(eq.id, annee, type_) or services.create_declaration(eq, annee, type_, manager)
    if decl.status not in ("brouillon", "a_corriger"):
        return decl
    evaluation = services.save_draft(decl, data, {}, manager)
    justifications = {c.code: "Justification de démonstration : écart expliqué par l'évolution de l'activité."
                      for c in evaluation.alertes}
    services.save_draft(decl, data, justifications, manager)
    camp = services.ensure_campagne(annee, type_)
    sent = datetime.combine(camp.ouverture + timedelta(days=10), datetime.min.time()).replace(hour=10)
    services.transmit(decl, manager, now=sent)
    if validate and agent is not None:
        # Instructed within the week: a prévisionnel is validated before its 1 March instalment.
        services.take_in_charge(decl, agent, now=sent + timedelta(days=2))
        services.validate(decl, agent, now=sent + timedelta(days=7))
    return decl


def _convention(eq, year: int, agent) -> None:
    """Signed conventions from N-3; the LAEP's ends in 60 days (the renewal alert shows)."""
    today = services.today()
    fin = today + timedelta(days=60) if eq.type == "LAEP" else date(year + 2, 12, 31)
    conv = ConventionFinancement(equipement_id=eq.id, reference=f"COF-{eq.numero}", debut=date(year - 3, 1, 1), fin=fin)
    db.session.add(conv)
    db.session.flush()
    upload_signed(conv, f"convention-{eq.numero}.pdf", DEMO_PDF, date(year - 3, 1, 1), agent)
    db.session.expire(eq, ["conventions"])


def _sans_convention(org, agent) -> int:
    kind, nom, numero, activite = SANS_CONVENTION
    if db.session.scalar(select(Equipement).where(Equipement.numero == numero)) is not None:
        return 0
    eq = Equipement(organisation_id=org.id, type=kind, nom=nom, numero=numero, activite=activite, commune="Amiens")
    db.session.add(eq)
    db.session.flush()
    today = services.today()
    conv = ConventionFinancement(equipement_id=eq.id, reference=f"COF-{numero}", debut=date(today.year - 4, 1, 1),
                                 fin=today - timedelta(days=30))
    db.session.add(conv)
    db.session.flush()
    upload_signed(conv, f"convention-{numero}.pdf", DEMO_PDF, date(today.year - 4, 1, 1), agent)
    db.session.commit()
    return 1


def seed() -> int:
    org = db.session.scalar(select(Organisation).where(Organisation.nom == "Commune d'Amiens"))
    manager = db.session.scalar(select(User).where(User.email == "gestionnaire@amiens.example"))
    agent = db.session.scalar(select(User).where(User.email == "agent.caf@caf80.example"))
    if org is None or manager is None:
        return 0
    created = 0
    year = services.today().year
    for kind, nom, numero, activite in EQUIPEMENTS:
        if db.session.scalar(select(Equipement).where(Equipement.numero == numero)) is not None:
            continue
        eq = Equipement(organisation_id=org.id, type=kind, nom=nom, numero=numero, activite=activite, commune="Amiens")
        db.session.add(eq)
        db.session.flush()
        created += 1
        _convention(eq, year, agent)
        if kind == "EAJE":  # 10 places created in a quartier prioritaire, validated by the Caf
            record_territoire(eq, "QPV", True, 10, agent)
        # Year N-2: prévisionnel validated (acomptes paid), réel validated with its régularisation, paid.
        _declare(eq, year - 2, "previsionnel", demo_data(kind, 0.97), manager, agent, validate=True)
        services.pay_due_acomptes()
        reel = _declare(eq, year - 2, "reel", demo_data(kind, 1.0), manager, agent, validate=True)
        if agent is not None and reel.status == "validee":
            services.mark_paid(reel, agent)
        # Year N-1: prévisionnel validated, both acomptes paid (the réel N-1 is for the partner to do).
        _declare(eq, year - 1, "previsionnel", demo_data(kind, 1.02), manager, agent, validate=True)
        services.pay_due_acomptes()
        created += 3
        if kind == "RPE":   # waiting in the Caf's queue
            _declare(eq, year - 1, "reel", demo_data(kind, 1.2), manager)
            created += 1
        if kind == "LAEP":  # a draft in progress
            services.create_declaration(eq, year, "actualise_septembre", manager)
            created += 1
        db.session.commit()
    return created + _sans_convention(org, agent)
