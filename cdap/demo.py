"""CDAP demo data: a few hundred synthetic allocataires of the Somme (80), deterministic
(Faker and random seeded), imported through the same importer as a Caf extract.

The showcase allocataire (README): n° 8000001, Amandine LEFÈVRE, tenant LOC000123 of Picardie
Habitat (BL080001) in tiers payant, three children, QF history, droits, payments and an impayé:
the four partner profiles and the Caf agent can all consult her.
`demo_tenants()` lists Picardie Habitat's demo tenants (used by the EDI examples).
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from portal.extensions import db
from portal.registry import DemoAccess

# CDAP contracts (the profiles each organisation may use) and habilitations (one profile each)
# on the shell's demo organisations and users (portal.demo).
ACCESS = DemoAccess(
    "CDAP",
    contrats={"Caf de la Somme": ["agent_caf"], "Commune d'Amiens": ["quotient_familial"],
              "Picardie Habitat": ["bailleur"],
              "Conseil départemental de la Somme": ["travailleur_social", "prevention_expulsions",
                                                    "responsable_equipe"]},
    habilitations={"agent.caf@caf80.example": "agent_caf",
                   "operateur@picardie-habitat.example": "bailleur",
                   "ts@somme.example": "travailleur_social",
                   "ccapex@somme.example": "prevention_expulsions",
                   "responsable@somme.example": "responsable_equipe",
                   "qf@amiens.example": "quotient_familial"})

SHOWCASE = {"numero": "8000001", "nom": "Lefèvre", "prenom": "Amandine", "code_bailleur": "BL080001",
            "code_locataire": "LOC000123"}
PICARDIE_HABITAT = "BL080001"
SEED = 80
SOMME_COUNT = 300
AISNE_COUNT = 10  # outside the Somme's territory: out of scope for the Somme's social workers
PH_TENANTS = 20


def demo_records(today: date | None = None) -> list[dict]:
    """The demo extract, always the same for a given day (names, numbers, codes never change)."""
    from .generator import Generator
    gen = Generator(seed=SEED, departement="80", start=8000002, months=24, today=today)
    gen.locataire_seq[PICARDIE_HABITAT] = 122
    records = [gen.record(numero=SHOWCASE["numero"], nom=SHOWCASE["nom"], prenom=SHOWCASE["prenom"],
                          force_tenant=PICARDIE_HABITAT, force_children=3, force_impaye=True,
                          tiers_payant=True, couple=True, born=date(1986, 11, 2))]
    showcase = records[0]
    showcase["situation_familiale"] = "marie"
    for m in showcase["membres"]:
        if m["role"] == "conjoint":
            m["prenom"], m["date_naissance"] = "Julien", "1984-03-09"
    showcase["adresse"] = "14 rue Jules Barni"
    showcase["code_postal"], showcase["commune"] = "80000", "Amiens"
    for _ in range(PH_TENANTS - 1):
        records.append(gen.record(force_tenant=PICARDIE_HABITAT))
    gen.random_bailleurs = [code for code in gen.random_bailleurs if code != PICARDIE_HABITAT]
    for _ in range(SOMME_COUNT - PH_TENANTS):
        records.append(gen.record())
    aisne = Generator(seed=SEED + 2, departement="02", start=8200001, months=12, today=today)
    records.extend(aisne.records(AISNE_COUNT))
    return records


def demo_tenants(today: date | None = None) -> list[dict]:
    """Picardie Habitat's demo tenants: numéro, nom, prénom, code locataire, rent, tiers payant."""
    out = []
    for r in demo_records(today):
        for lg in r["logements"]:
            if lg["code_bailleur"] == PICARDIE_HABITAT:
                out.append({"numero_allocataire": r["numero"], "nom": r["nom"], "prenom": r["prenom"],
                            "code_locataire": lg["code_locataire"], "loyer_cents": lg["loyer_cents"],
                            "charges_cents": lg["charges_cents"], "tiers_payant": lg["tiers_payant"],
                            "date_entree": lg["date_entree"]})
    return out


def seed() -> int:
    """Import the demo extract once (idempotent: nothing is done if the showcase exists)."""
    from .importer import import_records
    from .models import Allocataire
    if db.session.scalar(select(Allocataire.id).where(Allocataire.numero == SHOWCASE["numero"])):
        return 0
    report = import_records(demo_records())
    if report.rejected:
        raise RuntimeError(f"données de démonstration CDAP invalides : {report.rejected[:3]}")
    return report.imported
