"""Synthetic extracts: coherent French families and amounts, deterministic for a seed.

Names come from Faker fr_FR (pools drawn once, so a million records take seconds, not hours);
amounts follow simplified, *fictitious* barèmes (placeholders, not the Caf's figures): family
allowances by number of children, ARS for 6-18 year-olds in August, PAJE under 3, housing aid
for tenants (paid to the landlord in tiers payant), RSA / prime d'activité by income, and a
quotient familial = (annual income / 12 + monthly benefits) / parts.
"""
from __future__ import annotations

import json
import random
from datetime import date, timedelta
from typing import IO, Iterator

from portal.dates import add_months
from portal.dates import today as paris_today

SOMME_COMMUNES = [
    ("80000", "Amiens"), ("80080", "Amiens"), ("80090", "Amiens"), ("80100", "Abbeville"),
    ("80300", "Albert"), ("80200", "Péronne"), ("80500", "Montdidier"), ("80600", "Doullens"),
    ("80400", "Ham"), ("80700", "Roye"), ("80800", "Corbie"), ("80130", "Friville-Escarbotin"),
    ("80120", "Rue"), ("80110", "Moreuil"), ("80330", "Longueau"), ("80450", "Camon"),
    ("80136", "Rivery"), ("80480", "Salouël"), ("80480", "Dury"), ("80470", "Ailly-sur-Somme"),
    ("80420", "Flixecourt"), ("80290", "Poix-de-Picardie"), ("80160", "Conty"), ("80190", "Nesle"),
    ("80320", "Chaulnes"), ("80550", "Le Crotoy"), ("80230", "Saint-Valery-sur-Somme"),
    ("80350", "Mers-les-Bains"), ("80220", "Gamaches"), ("80140", "Oisemont"), ("80270", "Airaines"),
]
# Landlords of the synthetic world: (code bailleur, social?) — BL080001 is the demo's Picardie Habitat.
BAILLEURS = [("BL080001", True), ("BL080002", True), ("BL080003", True), ("BL080004", False),
             ("BL080005", False)]
STREET_TYPES = ["rue", "rue", "avenue", "boulevard", "place", "chemin", "allée", "impasse"]


class Pools:
    def __init__(self, seed: int):
        from faker import Faker
        fake = Faker("fr_FR")
        fake.seed_instance(seed)
        self.last = sorted({fake.last_name() for _ in range(3000)})
        self.first_f = sorted({fake.first_name_female() for _ in range(800)})
        self.first_m = sorted({fake.first_name_male() for _ in range(800)})
        self.streets = sorted({fake.last_name() for _ in range(400)} | {fake.first_name() for _ in range(200)})


def _month(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _birth(rng: random.Random, today: date, min_age: int, max_age: int) -> date:
    days = rng.randint(min_age * 365, max_age * 365 + 300)
    return today - timedelta(days=days)


def _age(born: date, at: date) -> int:
    return at.year - born.year - ((at.month, at.day) < (born.month, born.day))


def _af(nb_enfants: int) -> int:
    if nb_enfants < 2:
        return 0
    return 14899 + 19091 * (nb_enfants - 2) if nb_enfants > 2 else 14899


class Generator:
    def __init__(self, seed: int = 80, departement: str = "80", start: int = 1_000_000,
                 months: int = 12, today: date | None = None):
        self.rng = random.Random(seed)
        self.pools = Pools(seed)
        self.departement = departement
        self.next_numero = start
        self.months = months
        self.today = today or paris_today()
        self.locataire_seq = {code: 0 for code, _ in BAILLEURS}
        self.random_bailleurs = [code for code, _ in BAILLEURS]
        first_month = date(self.today.year, self.today.month, 1)
        self._month_table = []
        for i in range(months, 0, -1):
            m = add_months(first_month, -i)
            self._month_table.append((m, _month(m), m.replace(day=25).isoformat(),
                                      add_months(m, 1).replace(day=5).isoformat(),
                                      m.replace(day=20).isoformat()))

    def _commune(self) -> tuple[str, str]:
        if self.departement == "80":
            return self.rng.choice(SOMME_COMMUNES)
        return f"{self.departement}{self.rng.randint(0, 999):03d}"[:5], self.rng.choice(self.pools.last) + "-sur-Mer"

    def record(self, *, force_tenant: str | None = None, force_children: int | None = None,
               force_impaye: bool = False, nom: str | None = None, prenom: str | None = None,
               numero: str | None = None, tiers_payant: bool | None = None,
               couple: bool | None = None, born: date | None = None) -> dict:
        rng, p, today = self.rng, self.pools, self.today
        if numero is None:
            numero = f"{self.next_numero:07d}"
            self.next_numero += 1
        female = rng.random() < 0.6
        last = nom or rng.choice(p.last)
        first = prenom or rng.choice(p.first_f if female else p.first_m)
        drawn = _birth(rng, today, 20, 70)
        born = born or drawn
        drawn_couple = rng.random() < 0.5
        couple = drawn_couple if couple is None else couple
        situation = rng.choice(["marie", "pacse", "concubinage"]) if couple else rng.choice(
            ["celibataire", "celibataire", "separe", "divorce", "veuf"])
        membres = []
        if couple:
            membres.append({"role": "conjoint", "nom": last, "prenom": rng.choice(p.first_m if female else p.first_f),
                            "date_naissance": _birth(rng, today, max(20, _age(born, today) - 6), _age(born, today) + 5).isoformat(),
                            "a_charge": False})
        age = _age(born, today)
        max_children = 0 if age > 62 else 5
        nb = force_children if force_children is not None else min(max_children, rng.choice([0, 0, 1, 1, 2, 2, 2, 3, 3, 4]))
        kids = []
        for _ in range(nb):
            k_born = _birth(rng, today, 0, min(20, max(0, age - 19)))
            kids.append(k_born)
            membres.append({"role": "enfant", "nom": last, "prenom": rng.choice(p.first_f + p.first_m),
                            "date_naissance": k_born.isoformat(), "a_charge": _age(k_born, today) < 20})
        in_charge = [k for k in kids if _age(k, today) < 20]
        works = rng.random() < 0.65
        income = rng.randint(9_000, 42_000) * (2 if couple and rng.random() < 0.6 else 1) if works else rng.randint(0, 7_000)
        commune_cp, commune = self._commune()
        adresse = f"{rng.randint(1, 180)} {rng.choice(STREET_TYPES)} {rng.choice(p.streets)}"
        # Housing
        logements, impayes = [], []
        tenant = force_tenant or (rng.random() < 0.45 and rng.choice(self.random_bailleurs))
        first_month = date(today.year, today.month, 1)
        loyer = charges = 0
        tp = False
        if tenant:
            self.locataire_seq[tenant] = self.locataire_seq.get(tenant, 0) + 1
            code_loc = f"LOC{self.locataire_seq[tenant]:06d}"
            loyer = rng.randint(280, 720) * 100
            charges = rng.randint(30, 140) * 100
            tp = tiers_payant if tiers_payant is not None else rng.random() < 0.85
            entree = today - timedelta(days=rng.randint(200, 4000))
            logements.append({"code_bailleur": tenant, "code_locataire": code_loc, "loyer_cents": loyer,
                              "charges_cents": charges, "nb_colocataires": 0,
                              "date_entree": entree.isoformat(), "date_sortie": None, "tiers_payant": tp})
        # Droits
        droits = []
        debut = add_months(first_month, -rng.randint(self.months, 60))

        def droit(code, montant):
            if montant > 0:
                droits.append({"prestation": code, "montant_cents": montant, "date_debut": debut.isoformat(),
                               "date_fin": None, "statut": "ouvert"})
        droit("AF", _af(len(in_charge)))
        if len(in_charge) >= 3 and all(_age(k, today) >= 3 for k in in_charge):
            droit("CF", 17300 + rng.randint(0, 12000))
        if any(_age(k, today) < 3 for k in in_charge):
            droit("PAJE", 18481 if income < 40_000 else 9241)
            if works:
                droit("CMG", rng.randint(150, 480) * 100)
        if not couple and in_charge and rng.random() < 0.35:
            droit("ASF", 19919 * len(in_charge))
        aide = 0
        if tenant:
            aide = max(0, min(loyer - 5000, int(loyer * 0.75 - income * 0.9) + 2500 * len(in_charge)))
            aide = aide // 100 * 100
            droit("APL" if dict(BAILLEURS)[tenant] else ("ALF" if in_charge else "ALS"), aide)
        if income < 7_000:
            droit("RSA", max(0, 63568 + 19070 * (couple + len(in_charge)) - income * 100 // 12) // 100 * 100)
        elif income < 22_000:
            droit("PA", rng.randint(60, 300) * 100)
        if rng.random() < 0.03:
            droit("AAH", 101613)
        ars_kids = [k for k in in_charge if 6 <= _age(k, today) <= 18]
        # Payments and QF, month by month (month strings and payment dates precomputed once)
        paiements, quotients = [], []
        parts = (2 if couple else 1) + 0.5 * min(2, len(in_charge)) + max(0, len(in_charge) - 2)
        monthly_benefits = sum(d["montant_cents"] for d in droits) // 100
        housing_to_landlord = bool(tenant and tp)
        uniform = rng.uniform
        for m, label, paid_landlord, paid_allocataire, paid_ars in self._month_table:
            for d in droits:
                to_landlord = housing_to_landlord and d["prestation"] in ("APL", "ALF", "ALS")
                paiements.append({"mois": label, "prestation": d["prestation"],
                                  "montant_cents": d["montant_cents"],
                                  "date_paiement": paid_landlord if to_landlord else paid_allocataire,
                                  "beneficiaire": "bailleur" if to_landlord else "allocataire",
                                  "code_bailleur": tenant if to_landlord else None})
            if m.month == 8 and ars_kids:
                paiements.append({"mois": label, "prestation": "ARS", "montant_cents": 41663 * len(ars_kids),
                                  "date_paiement": paid_ars, "beneficiaire": "allocataire",
                                  "code_bailleur": None})
            qf = int((income / 12 + monthly_benefits) / parts * (1 + uniform(-0.03, 0.03)))
            quotients.append({"mois": label, "qf": max(0, qf)})
        if ars_kids and self.months >= 12:
            droits.append({"prestation": "ARS", "montant_cents": 41663 * len(ars_kids),
                           "date_debut": date(today.year if today.month >= 8 else today.year - 1, 8, 1).isoformat(),
                           "date_fin": date(today.year if today.month >= 8 else today.year - 1, 8, 31).isoformat(),
                           "statut": "clos"})
        if tenant and (force_impaye or rng.random() < 0.03):
            constitution = add_months(first_month, -2) - timedelta(days=1)
            net = loyer + charges - (aide if tp else 0)
            impayes.append({
                "code_bailleur": tenant, "code_locataire": logements[0]["code_locataire"],
                "reference": f"IMP-{numero}-{constitution:%Y%m}",
                "montant_dette_cents": max(2 * net, 2 * (loyer + charges) // 3) + rng.randint(0, 300) * 100,
                "loyer_mensuel_cents": loyer + charges, "date_constitution": constitution.isoformat(),
                "periode_debut": add_months(first_month, -4).isoformat(), "periode_fin": constitution.isoformat(),
                "plan_apurement": False, "date_signalement": (constitution + timedelta(days=20)).isoformat(),
                "maintien_aide": True,
            })
        return {
            "numero": numero, "nom": last, "prenom": first, "date_naissance": born.isoformat(),
            "adresse": adresse, "code_postal": commune_cp, "commune": commune,
            "departement": self.departement, "situation_familiale": situation,
            "membres": membres, "quotients": quotients, "droits": droits, "paiements": paiements,
            "logements": logements, "impayes": impayes,
        }

    def records(self, count: int) -> Iterator[dict]:
        for _ in range(count):
            yield self.record()


def write_jsonl(out: IO[str], count: int, **kwargs) -> int:
    gen = Generator(**kwargs)
    n = 0
    for rec in gen.records(count):
        out.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")))
        out.write("\n")
        n += 1
    return n
