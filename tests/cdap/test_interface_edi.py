"""The functions EDI calls (cdap.interface_edi): set-based, idempotent per key, never commit."""
from datetime import date, timedelta

import pytest
from sqlalchemy import event, func, select, update

from cdap import interface_edi as sb
from cdap.loyers import current_rent, current_rents
from cdap.models import (ImpayeQueueItem, Logement, LoyerHistorique, Mouvement, Paiement,
                         SignalementImpaye)
from portal.extensions import db

from .conftest import make_allocataire, make_droit, make_logement

CB = "BL990001"


def test_lookup_tenancies_returns_only_this_landlords_tenants():
    a = make_allocataire(numero="1000001")
    b = make_allocataire(numero="1000002")
    make_logement(a, CB, "LOC000001", loyer=52000, charges=7000, tiers_payant=True)
    make_logement(b, "BL990002", "LOC000002")
    make_droit(a, "APL", 31000)
    make_droit(a, "AF", 14000)  # not a housing aid
    make_droit(a, "ALS", 5000, date_fin=date(2021, 1, 1), statut="clos")  # closed
    found = sb.lookup_tenancies(CB, [("LOC000001", "1000001"), ("LOC000002", "1000002"),
                                     ("LOC000001", "1000002"), ("NOPE", "9999999")])
    assert set(found) == {("LOC000001", "1000001")}
    t = found[("LOC000001", "1000001")]
    assert t["loyer_cents"] == 52000 and t["charges_cents"] == 7000
    assert t["tiers_payant"] is True and t["date_entree"] == date(2020, 1, 1)
    assert t["date_sortie"] is None
    assert t["aide_mensuelle_cents"] == 31000


def test_lookup_is_set_based(app):
    """A batch of 2,500 pairs costs a bounded number of queries, not one per row."""
    a = make_allocataire(numero="1000003")
    make_logement(a, CB, "LOC000003")
    pairs = [(f"LOC{i:06d}", f"{2000000 + i:07d}") for i in range(2500)] + [("LOC000003", "1000003")]
    statements = []
    listener = lambda *args: statements.append(1)  # noqa: E731
    engine = db.session.get_bind().engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        found = sb.lookup_tenancies(CB, pairs)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert list(found) == [("LOC000003", "1000003")]
    assert len(statements) <= 6


def _loyer(key, loyer, charges, effet, code="LOC000010", numero="1000010"):
    return {"idempotency_key": key, "code_locataire": code, "numero_allocataire": numero,
            "loyer_cents": loyer, "charges_cents": charges, "date_effet": effet, "nb_colocataires": 1}


def test_apply_loyers_updates_rent_keeps_history_and_is_idempotent():
    a = make_allocataire(numero="1000010")
    lg = make_logement(a, CB, "LOC000010", loyer=40000, charges=5000)
    assert current_rent(lg) == {"loyer_cents": 40000, "charges_cents": 5000, "nb_colocataires": 0}
    rows = [_loyer("F1:1", 41000, 5100, date(2026, 7, 1)),
            _loyer("F1:2", 39000, 5000, date(2025, 7, 1)),  # older: history only
            _loyer("F1:3", 1, 1, date(2026, 7, 1), code="UNKNOWN")]
    assert sb.apply_loyers(CB, rows, "LOYERS F1") == 2
    assert current_rent(lg) == {"loyer_cents": 41000, "charges_cents": 5100, "nb_colocataires": 1}
    assert sb.lookup_tenancies(CB, [("LOC000010", "1000010")])[("LOC000010", "1000010")][
        "loyer_cents"] == 41000  # what the IMPAYES checks compare with
    assert sb.apply_loyers(CB, rows, "LOYERS F1") == 0  # replay: nothing changes
    # A later batch with an older date d'effet goes to the history only; same date: latest row wins.
    assert sb.apply_loyers(CB, [_loyer("F2:1", 38000, 5000, date(2024, 7, 1))], "LOYERS F2") == 1
    assert current_rent(lg)["loyer_cents"] == 41000
    assert sb.apply_loyers(CB, [_loyer("F3:1", 42000, 5200, date(2026, 7, 1))], "LOYERS F3") == 1
    assert current_rent(lg)["loyer_cents"] == 42000
    assert (lg.loyer_cents, lg.charges_cents) == (40000, 5000)  # the tenancy row is not rewritten
    assert db.session.scalar(select(func.count()).select_from(LoyerHistorique)
                             .where(LoyerHistorique.logement_id == lg.id)) == 4
    # Same key from another landlord is a different key space.
    b = make_allocataire(numero="1000011")
    make_logement(b, "BL990002", "LOC000010")
    assert sb.apply_loyers("BL990002", [_loyer("F1:1", 45000, 0, date(2026, 7, 1), numero="1000011")], "x") == 1


def test_current_rents_of_many_dwellings_in_one_query():
    logements = []
    for i in range(3):
        a = make_allocataire(numero=f"100005{i}")
        logements.append(make_logement(a, CB, f"LOC00005{i}", loyer=40000 + i, charges=5000))
    sb.apply_loyers(CB, [_loyer("C:1", 47000, 5300, date(2026, 1, 1), "LOC000051", "1000051"),
                         _loyer("C:2", 46000, 5300, date(2025, 1, 1), "LOC000051", "1000051")], "C")
    statements = []
    listener = lambda *args: statements.append(1)  # noqa: E731
    engine = db.session.get_bind().engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        rents = current_rents(logements)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert [rents[lg.id]["loyer_cents"] for lg in logements] == [40000, 47000, 40002]
    assert len(statements) == 1


def test_apply_loyers_duplicate_key_within_batch_counts_once():
    a = make_allocataire(numero="1000012")
    lg = make_logement(a, CB, "LOC000012")
    rows = [_loyer("K", 41000, 5100, date(2026, 7, 1), "LOC000012", "1000012")] * 3
    assert sb.apply_loyers(CB, rows, "s") == 1
    assert current_rent(lg)["loyer_cents"] == 41000


def test_apply_loyers_batch_mixing_applied_and_new_keys_applies_the_new_ones_first_wins():
    """A replayed key must not stop the batch: the new keys of it are applied, once, and a key
    repeated within the batch keeps its first occurrence (on PostgreSQL: the plain insertion
    fails on the applied key and the batch goes the ON CONFLICT way)."""
    a = make_allocataire(numero="1000013")
    lg = make_logement(a, CB, "LOC000013")
    first = _loyer("M:1", 41000, 5100, date(2026, 1, 1), "LOC000013", "1000013")
    assert sb.apply_loyers(CB, [first], "s") == 1
    batch = [first,
             _loyer("M:2", 42000, 5200, date(2026, 2, 1), "LOC000013", "1000013"),
             _loyer("M:3", 43000, 5300, date(2026, 3, 1), "LOC000013", "1000013"),
             _loyer("M:3", 99000, 9900, date(2026, 3, 1), "LOC000013", "1000013")]
    assert sb.apply_loyers(CB, batch, "s") == 2
    history = db.session.execute(select(LoyerHistorique.idempotency_key, LoyerHistorique.loyer_cents)
                                 .where(LoyerHistorique.logement_id == lg.id)
                                 .order_by(LoyerHistorique.idempotency_key)).all()
    assert history == [("M:1", 41000), ("M:2", 42000), ("M:3", 43000)]
    assert current_rent(lg)["loyer_cents"] == 43000
    assert sb.apply_loyers(CB, batch, "s") == 0


def _mvt(key, type_, day, code="LOC000020", numero="1000020", **extra):
    return {"idempotency_key": key, "code_locataire": code, "numero_allocataire": numero,
            "type": type_, "date_mouvement": day, **extra}


def test_apply_mouvements_entree_sortie_reopen():
    a = make_allocataire(numero="1000020")
    lg = make_logement(a, CB, "LOC000020", loyer=45000, date_entree=date(2025, 12, 20))
    n = sb.apply_mouvements(CB, [_mvt("M1", "ENTREE", date(2026, 1, 1), loyer_cents=48000, charges_cents=6000)], "MVT")
    assert n == 1
    db.session.refresh(lg)
    assert lg.date_entree == date(2026, 1, 1) and lg.date_sortie is None and lg.loyer_cents == 48000
    assert current_rent(lg)["loyer_cents"] == 48000  # the ENTREE's rent is in the history
    assert lg.tiers_payant is True
    assert sb.apply_mouvements(CB, [_mvt("M2", "SORTIE", date(2026, 6, 30))], "MVT") == 1
    db.session.refresh(lg)
    assert lg.date_sortie == date(2026, 6, 30) and lg.tiers_payant is False
    # replay changes nothing; an ENTREE reopens
    assert sb.apply_mouvements(CB, [_mvt("M2", "SORTIE", date(2026, 6, 30))], "MVT") == 0
    assert sb.apply_mouvements(CB, [_mvt("M3", "ENTREE", date(2026, 9, 1))], "MVT") == 1
    db.session.refresh(lg)
    assert lg.date_sortie is None and lg.date_entree == date(2026, 9, 1)
    assert db.session.scalar(select(func.count()).select_from(Mouvement).where(Mouvement.logement_id == lg.id)) == 3


def test_apply_mouvements_ignores_unknown():
    assert sb.apply_mouvements(CB, [_mvt("X1", "ENTREE", date(2026, 1, 1), numero="7777777")], "s") == 0
    make_allocataire(numero="1000021")
    assert sb.apply_mouvements(CB, [_mvt("X2", "SORTIE", date(2026, 1, 1), numero="1000021")], "s") == 0


def test_an_entree_never_creates_a_tenancy_nor_opens_the_file_to_the_landlord():
    """A landlord's declaration alone must not make someone its tenant (CDAP scope)."""
    make_allocataire(numero="1000022")
    assert sb.apply_mouvements(CB, [_mvt("X3", "ENTREE", date(2026, 1, 1), numero="1000022")], "s") == 0
    assert db.session.scalar(select(func.count()).select_from(Logement)) == 0
    assert sb.lookup_tenancies(CB, [("LOC000020", "1000022")]) == {}


def test_a_sortie_ends_tiers_payant_on_its_date_even_recorded_in_advance():
    a = make_allocataire(numero="1000023")
    lg = make_logement(a, CB, "LOC000023", tiers_payant=True)
    later = date.today() + timedelta(days=40)
    assert sb.apply_mouvements(CB, [_mvt("S1", "SORTIE", later, code="LOC000023", numero="1000023")], "s") == 1
    db.session.refresh(lg)
    assert (lg.date_sortie, lg.tiers_payant) == (later, True)  # until the exit date
    assert sb.lookup_tenancies(CB, [("LOC000023", "1000023")])[("LOC000023", "1000023")]["tiers_payant"] is True
    lg.date_sortie = date.today()  # the day comes
    db.session.flush()
    assert sb.lookup_tenancies(CB, [("LOC000023", "1000023")])[("LOC000023", "1000023")]["tiers_payant"] is False


def test_a_rent_announced_for_a_later_date_becomes_current_on_that_date():
    a = make_allocataire(numero="1000024")
    lg = make_logement(a, CB, "LOC000024", loyer=50000)
    later = date.today() + timedelta(days=30)
    rows = [{"idempotency_key": "R1", "code_locataire": "LOC000024", "numero_allocataire": "1000024",
             "loyer_cents": 52000, "charges_cents": 8000, "nb_colocataires": 1, "date_effet": later}]
    assert sb.apply_loyers(CB, rows, "s") == 1
    assert current_rent(lg)["loyer_cents"] == 50000
    assert sb.lookup_tenancies(CB, [("LOC000024", "1000024")])[("LOC000024", "1000024")]["loyer_cents"] == 50000
    assert current_rent(lg, today=later)["loyer_cents"] == 52000


def _impaye(key, code="LOC000030", numero="1000030", **extra):
    return {"idempotency_key": key, "code_locataire": code, "numero_allocataire": numero,
            "montant_dette_cents": 120000, "loyer_mensuel_cents": 55000,
            "date_constitution": date(2026, 8, 31), "periode_debut": date(2026, 7, 1),
            "periode_fin": date(2026, 8, 31), "plan_apurement": False,
            "date_signalement": date(2026, 10, 15), **extra}


def test_record_impayes_opens_queue_item_once():
    a = make_allocataire(numero="1000030", departement="80")
    make_logement(a, CB, "LOC000030")
    assert sb.record_impayes(CB, [_impaye("I1"), _impaye("I2", code="UNKNOWN")], "IMPAYES F") == 1
    s = db.session.scalar(select(SignalementImpaye).where(SignalementImpaye.idempotency_key == "I1"))
    assert s.date_limite_plan == date(2027, 2, 28)  # constitution + 6 months, end of month
    item = db.session.scalar(select(ImpayeQueueItem).where(ImpayeQueueItem.impaye_id == s.id))
    assert item.statut == "nouveau" and item.allocataire.departement == "80" and item.echeance == date(2027, 2, 28)
    assert sb.record_impayes(CB, [_impaye("I1")], "IMPAYES F") == 0
    assert db.session.scalar(select(func.count()).select_from(ImpayeQueueItem)
                             .where(ImpayeQueueItem.allocataire_id == a.id)) == 1


def test_tiers_payant_payments_and_landlord_codes():
    a = make_allocataire(numero="1000040", nom="Lefèvre", prenom="Anne")
    make_logement(a, CB, "LOC000040", tiers_payant=True)
    b = make_allocataire(numero="1000041")
    make_logement(b, "BL990003", "LOC000041", tiers_payant=False)
    db.session.add_all([
        Paiement(allocataire_id=a.id, mois=date(2026, 10, 1), prestation="APL", montant_cents=31000,
                 date_paiement=date(2026, 10, 25), beneficiaire="bailleur", code_bailleur=CB),
        Paiement(allocataire_id=a.id, mois=date(2026, 10, 1), prestation="AF", montant_cents=14000,
                 date_paiement=date(2026, 10, 5), beneficiaire="allocataire"),
        Paiement(allocataire_id=a.id, mois=date(2026, 9, 1), prestation="APL", montant_cents=30000,
                 date_paiement=date(2026, 9, 25), beneficiaire="bailleur", code_bailleur=CB),
    ])
    db.session.flush()
    assert sb.tiers_payant_payments(CB, 2026, 10) == [{
        "code_locataire": "LOC000040", "numero_allocataire": "1000040", "nom": "Lefèvre Anne",
        "montant_cents": 31000, "date_paiement": date(2026, 10, 25), "prestation": "APL"}]
    assert sb.landlord_codes(2026, 10) == [CB]
    # Paid that month, even though no tenant is in tiers payant any more: its notice is due.
    db.session.execute(update(Logement).values(tiers_payant=False, date_sortie=date(2026, 10, 31)))
    assert sb.landlord_codes(2026, 10) == [CB]
    assert sb.landlord_codes(2026, 11) == []


def test_functions_never_commit(app):
    """They run in the caller's transaction: a rollback undoes them."""
    a = make_allocataire(numero="1000050")
    make_logement(a, CB, "LOC000050")
    commits = []
    listener = lambda *args: commits.append(1)  # noqa: E731
    event.listen(db.session, "after_commit", listener)
    try:
        sb.apply_loyers(CB, [_loyer("C1", 1, 1, date(2026, 1, 1), "LOC000050", "1000050")], "s")
        sb.record_impayes(CB, [_impaye("C2", "LOC000050", "1000050")], "s")
        sb.apply_mouvements(CB, [_mvt("C3", "SORTIE", date(2026, 2, 1), "LOC000050", "1000050")], "s")
    finally:
        event.remove(db.session, "after_commit", listener)
    assert commits == []


def test_what_a_movement_does_to_a_tenancy():
    today = date(2026, 12, 2)
    t = {"date_entree": date(2020, 1, 1), "date_sortie": None, "tiers_payant": True,
         "loyer_cents": 50000, "charges_cents": 8000, "logement_id": 7}
    gone = sb.tenancy_after_mouvement(t, {"type": "SORTIE", "date_mouvement": date(2026, 11, 30)}, today)
    assert (gone["date_sortie"], gone["tiers_payant"], gone["logement_id"]) == (date(2026, 11, 30), False, 7)
    assert t["date_sortie"] is None  # a new dict
    leaving = sb.tenancy_after_mouvement(t, {"type": "SORTIE", "date_mouvement": date(2027, 1, 31)}, today)
    assert (leaving["date_sortie"], leaving["tiers_payant"]) == (date(2027, 1, 31), True)
    back = sb.tenancy_after_mouvement(gone, {"type": "ENTREE", "date_mouvement": date(2026, 12, 1),
                                          "loyer_cents": 47000, "charges_cents": None}, today)
    assert (back["date_entree"], back["date_sortie"], back["loyer_cents"], back["charges_cents"]) == (
        date(2026, 12, 1), None, 47000, 8000)
    with pytest.raises(ValueError):
        sb.tenancy_after_mouvement(t, {"type": "MUTATION", "date_mouvement": today}, today)


def test_plan_apurement_due_six_months_after_constitution():
    from cdap.interface_edi import echeance_plan_apurement
    assert echeance_plan_apurement(date(2026, 8, 31)) == date(2027, 2, 28)


def test_plan_apurement_deadline_is_the_one_of_the_case_follow_up(monkeypatch):
    """One rule for the six months (issue #17, « written once »): the deadline EDI signals and
    the import record is the one the case follow-up shows (cdap.situations.rules.plan_due)."""
    from cdap.interface_edi import echeance_plan_apurement
    from cdap.situations import rules
    monkeypatch.setattr(rules, "PLAN_MONTHS", 3)
    assert echeance_plan_apurement(date(2026, 8, 31)) == rules.plan_due(date(2026, 8, 31)) == date(2026, 11, 30)


def test_apply_loyers_finds_the_dwelling_of_the_pair_not_of_the_code_alone():
    """Two allocataires under one tenant code (the unique key is code + allocataire): each
    row goes to the dwelling of its own allocataire, and a numéro that is not one of the
    code's allocataires applies nothing (on PostgreSQL the allocataire is reached by its
    primary key from the dwelling, issue #22)."""
    a, b = make_allocataire(numero="1000020"), make_allocataire(numero="1000021")
    stranger = make_allocataire(numero="1000022")
    make_logement(stranger, CB, "LOC000099")
    la, lb = make_logement(a, CB, "LOC000020"), make_logement(b, CB, "LOC000020")
    rows = [_loyer("P:1", 43000, 5000, date(2026, 7, 1), "LOC000020", "1000021"),
            _loyer("P:2", 44000, 5000, date(2026, 7, 1), "LOC000020", "1000022")]
    assert sb.apply_loyers(CB, rows, "P") == 1
    assert current_rent(lb)["loyer_cents"] == 43000
    assert current_rent(la)["loyer_cents"] == la.loyer_cents
    assert db.session.scalar(select(func.count()).select_from(LoyerHistorique)
                             .where(LoyerHistorique.logement_id.in_([la.id, lb.id]))) == 1


def test_history_key_is_compared_in_byte_order_on_postgresql():
    """The idempotency key's unique index compares bytes (COLLATE "C", migration
    cdap_0007_cle_loyer_octets): same uniqueness, no strcoll per comparison (issue #22).
    Alembic's autogenerate does not compare collations: this test holds the migration and the
    model together on PostgreSQL."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    from sqlalchemy import text
    collation = db.session.scalar(text(
        "SELECT collation_name FROM information_schema.columns "
        "WHERE table_name = 'cdap_loyers_historique' AND column_name = 'idempotency_key'"))
    assert collation == "C"
    a = make_allocataire(numero="1000030")
    make_logement(a, CB, "LOC000030")
    rows = [_loyer("É:1", 41000, 5100, date(2026, 7, 1), "LOC000030", "1000030"),
            _loyer("e:1", 41000, 5100, date(2026, 7, 1), "LOC000030", "1000030"),
            _loyer("É:1", 42000, 5100, date(2026, 7, 1), "LOC000030", "1000030")]
    assert sb.apply_loyers(CB, rows, "s") == 2  # distinct bytes, distinct keys; a repeat once
