"""Small builders for CDAP reference data (ORM objects, flushed)."""
from __future__ import annotations

import itertools
from datetime import date

import pytest

from portal.extensions import db

_seq = itertools.count(1)


def make_allocataire(numero=None, nom="Dupont", prenom="Marie", departement="80", **fields):
    from cdap.models import Allocataire
    from cdap.normalize import normalize_name
    numero = numero or f"{9000000 + next(_seq):07d}"
    a = Allocataire(numero=numero, nom=nom, nom_normalise=normalize_name(nom), prenom=prenom,
                    date_naissance=fields.pop("date_naissance", date(1985, 4, 12)),
                    adresse=fields.pop("adresse", "12 rue des Lilas"),
                    code_postal=fields.pop("code_postal", departement + "000"),
                    commune=fields.pop("commune", "Amiens"), departement=departement,
                    situation_familiale=fields.pop("situation_familiale", "celibataire"), **fields)
    db.session.add(a)
    db.session.flush()
    return a


def make_logement(allocataire, code_bailleur, code_locataire, loyer=50000, charges=8000,
                  tiers_payant=True, date_entree=date(2020, 1, 1), date_sortie=None):
    from cdap.models import Logement
    lg = Logement(allocataire_id=allocataire.id, code_bailleur=code_bailleur,
                  code_locataire=code_locataire, loyer_cents=loyer, charges_cents=charges,
                  nb_colocataires=0, date_entree=date_entree, date_sortie=date_sortie,
                  tiers_payant=tiers_payant)
    db.session.add(lg)
    db.session.flush()
    return lg


def make_droit(allocataire, prestation="APL", montant=25000, date_debut=date(2020, 1, 1),
               date_fin=None, statut="ouvert"):
    from cdap.models import Droit
    d = Droit(allocataire_id=allocataire.id, prestation=prestation, montant_cents=montant,
              date_debut=date_debut, date_fin=date_fin, statut=statut)
    db.session.add(d)
    db.session.flush()
    return d


@pytest.fixture
def cdap_data():
    class _B:
        allocataire = staticmethod(make_allocataire)
        logement = staticmethod(make_logement)
        droit = staticmethod(make_droit)
    return _B


_DEMO_CACHE = {}


def demo_records():
    """The demo extract (cached: the Faker pools take a moment to draw)."""
    if "records" not in _DEMO_CACHE:
        from cdap.demo import demo_records as build
        _DEMO_CACHE["records"] = build()
    return _DEMO_CACHE["records"]


class World:
    """Organisations and users shaped like the demo, and the showcase allocataire imported."""

    def __init__(self, factory):
        from cdap.importer import import_records
        records = demo_records()
        self.showcase = records[0]
        self.aisne = next(r for r in records if r["departement"] == "02")
        other_ph = [r for r in records[1:20]]
        report = import_records([self.showcase, self.aisne, *other_ph[:3]])
        assert report.ok, report.rejected
        self.caf = factory.caf(territoire="80")
        self.amiens = factory.organisation("collectivite", services={"CDAP": ["quotient_familial"]})
        self.ph = factory.organisation("bailleur", services={"CDAP": ["bailleur"], "EDI": []},
                                       code_bailleur="BL080001")
        self.other_bailleur = factory.organisation("bailleur", services={"CDAP": ["bailleur"]},
                                                   code_bailleur="BL099999")
        self.cd80 = factory.organisation("conseil_departemental",
                                         services={"CDAP": ["travailleur_social", "prevention_expulsions",
                                                                    "responsable_equipe"]})
        self.cd02 = factory.organisation("conseil_departemental", territoire="02",
                                         services={"CDAP": ["travailleur_social"]})
        self.users = {
            "quotient_familial": factory.user(self.amiens, "partner_manager", {"CDAP": "quotient_familial"}),
            "bailleur": factory.user(self.ph, "bailleur_operator", {"CDAP": "bailleur"}),
            "travailleur_social": factory.user(self.cd80, "travailleur_social", {"CDAP": "travailleur_social"}),
            "prevention_expulsions": factory.user(self.cd80, "travailleur_social", {"CDAP": "prevention_expulsions"}),
            "responsable_equipe": factory.user(self.cd80, "travailleur_social", {"CDAP": "responsable_equipe"}),
            "agent_caf": factory.user(self.caf, "caf_agent", {"CDAP": "agent_caf"}),
        }
        self.orgs = {"quotient_familial": self.amiens, "bailleur": self.ph, "travailleur_social": self.cd80,
                     "prevention_expulsions": self.cd80, "responsable_equipe": self.cd80,
                     "agent_caf": self.caf}
        self.caf_admin = factory.user(self.caf, "caf_admin")
        self.ts02 = factory.user(self.cd02, "travailleur_social", {"CDAP": "travailleur_social"})
        self.other_bailleur_user = factory.user(self.other_bailleur, "bailleur_operator", {"CDAP": "bailleur"})
        self.partner_admin = factory.user(self.cd80, "partner_admin")
        self.no_cdap = factory.user(self.amiens, "partner_manager", {"AFAS": None},
                                    )


@pytest.fixture
def world(factory):
    return World(factory)


def consult(client, numero, nom, motif, commentaire="", path="/cdap/consultation"):
    from tests.support.factories import csrf_token
    token = csrf_token(client, "/cdap/consultation")
    return client.post(path, data={"numero": numero, "nom": nom, "motif": motif,
                                   "commentaire": commentaire, "csrf_token": token})


@pytest.fixture
def low_thresholds(app):
    """Atypical-use thresholds low enough for a test to cross them in a few consultations."""
    settings = app.config["CDAP_SETTINGS"]
    saved = dict(settings)
    settings.update({"CDAP_NOTFOUND_ALERT": 2, "CDAP_NOTFOUND_SUSPEND": 3, "CDAP_DAILY_ALERT": 4,
                     "CDAP_DAILY_SUSPEND": 6})
    yield settings
    settings.clear()
    settings.update(saved)
