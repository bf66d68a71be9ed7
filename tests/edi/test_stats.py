"""EDI aggregates used by the dashboards."""
from datetime import date, datetime

from edi import stats
from edi.models import EdiEnregistrement, EdiFichier
from portal.extensions import db


def _file(org, statut, recu_le, records=()):
    f = EdiFichier(organisation_id=org.id, canal="portail", nom_fichier="f.xml", sha256=f"{id(records):064x}"[-64:],
                   taille=10, statut=statut, recu_le=recu_le)
    db.session.add(f)
    db.session.flush()
    for rang, (code, severite) in enumerate(records, start=1):
        db.session.add(EdiEnregistrement(fichier_id=f.id, rang=rang, identifiant=f"R{rang}",
                                         accepte=severite != "ERREUR", severite=severite, code=code,
                                         libelle=f"Libellé {code}", anomalies=[]))
    db.session.flush()
    return f


def test_files_per_day_and_top_rejection_codes(factory):
    org = factory.organisation(kind="bailleur", services={"EDI": []})
    other = factory.organisation(kind="bailleur", services={"EDI": []})
    _file(org, "TRAITE", datetime(2031, 3, 1, 9), [("OK", "INFORMATION")])
    _file(org, "TRAITE_PARTIEL", datetime(2031, 3, 1, 10),
          [("ALLOCATAIRE_INCONNU", "ERREUR"), ("ALLOCATAIRE_INCONNU", "ERREUR"), ("MONTANT", "ERREUR")])
    _file(org, "REJETE", datetime(2031, 3, 2, 10))
    _file(other, "TRAITE_PARTIEL", datetime(2031, 3, 2, 11), [("MONTANT", "ERREUR"), ("X", "AVERTISSEMENT")])
    _file(org, "DOUBLON", datetime(2031, 3, 2, 12))
    _file(org, "REJETE", datetime(2031, 2, 27, 10), [("ANCIEN", "ERREUR")])  # before the window
    since = date(2031, 3, 1)
    assert stats.files_per_day(since) == [
        {"day": "2031-03-01", "acceptes": 1, "partiels": 1, "rejetes": 0, "autres": 0},
        {"day": "2031-03-02", "acceptes": 0, "partiels": 1, "rejetes": 1, "autres": 1}]
    assert stats.files_per_day(since, organisation_id=other.id) == [
        {"day": "2031-03-02", "acceptes": 0, "partiels": 1, "rejetes": 0, "autres": 0}]
    assert stats.top_rejection_codes(since) == [
        {"code": "ALLOCATAIRE_INCONNU", "libelle": "Libellé ALLOCATAIRE_INCONNU", "nombre": 2},
        {"code": "MONTANT", "libelle": "Libellé MONTANT", "nombre": 2}]
    assert [r["code"] for r in stats.top_rejection_codes(since, organisation_id=other.id)] == ["MONTANT"]
    assert stats.top_rejection_codes(since, limit=1)[0]["code"] == "ALLOCATAIRE_INCONNU"


def test_files_are_counted_on_the_paris_day(factory):
    """A file received at 23:30 Paris counts for that day, one at 00:30 Paris for the next one,
    summer and winter alike; the window starts at midnight Paris."""
    org = factory.organisation(kind="bailleur", services={"EDI": []})
    _file(org, "TRAITE", datetime(2031, 2, 28, 22, 30))  # 28 February 23:30 Paris: before the window
    _file(org, "TRAITE", datetime(2031, 2, 28, 23, 30))  # 1 March 00:30 Paris
    _file(org, "REJETE", datetime(2031, 3, 1, 22, 30))  # 1 March 23:30 Paris
    _file(org, "REJETE", datetime(2031, 3, 1, 23, 30))  # 2 March 00:30 Paris
    _file(org, "TRAITE", datetime(2031, 7, 14, 21, 59))  # 14 July 23:59 Paris
    _file(org, "TRAITE", datetime(2031, 7, 14, 22, 0))  # 15 July 00:00 Paris
    rows = stats.files_per_day(date(2031, 3, 1), organisation_id=org.id)
    assert [(r["day"], r["acceptes"], r["rejetes"]) for r in rows] == [
        ("2031-03-01", 1, 1), ("2031-03-02", 0, 1), ("2031-07-14", 1, 0), ("2031-07-15", 1, 0)]
