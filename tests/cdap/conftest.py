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
