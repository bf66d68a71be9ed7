"""State changes of the payment hand-off (verb-named, each writes the timeline and the audit
entry; they flush, the caller commits). See docs/paiement.md for the life of a line."""
from __future__ import annotations

import hashlib
from datetime import date

from sqlalchemy import func, select

from portal.audit import record_event
from portal.dates import today as paris_today
from portal.extensions import db
from portal.formatting import accord, euros_centimes
from portal.models import Organisation, utcnow

from .. import services as afas_services
from ..models import Acompte, Declaration, Regularisation
from . import dues, signing
from .coordonnees import valid_iban
from .models import Indu, LignePaiement, OrdrePaiement, RetourPaiement
from .xml import OrderLine, build_order, control_totals, read_return

ACTIVE = ("emise", "payee", "rejetee")  # a line in one of these holds its source


class PaymentRefused(Exception):
    def __init__(self, message: str, code: str = "REFUSE", status: int = 422):
        super().__init__(message)
        self.message, self.code, self.status = message, code, status


# -- indus ----------------------------------------------------------------

def notice_text(indu_cents: int, decl: Declaration, reg: Regularisation) -> str:
    return (f"Le droit réel {decl.annee} de « {decl.equipement.libelle} » est inférieur aux acomptes "
            f"versés : {euros_centimes(dues.cents_of(reg.droit_reel))} de droit réel pour "
            f"{euros_centimes(dues.cents_of(reg.acomptes_verses))} d'acomptes. La Caf vous a versé "
            f"{euros_centimes(indu_cents)} de trop (indu). Vous pouvez demander qu'il soit déduit de "
            f"vos prochains acomptes ; sans réponse sous {dues.DELAI_CHOIX.days} jours, il sera "
            f"recouvré par un ordre de reversement.")


def create_indu(reg: Regularisation, actor, now=None) -> Indu | None:
    """Called by the validation of a réel (on `now`): a negative balance becomes an indu with
    its notice to the partner."""
    if float(reg.solde) >= 0:
        return None
    existing = db.session.scalar(select(Indu).where(Indu.regularisation_id == reg.id))
    if existing is not None:
        return existing
    decl = db.session.get(Declaration, reg.declaration_id)
    amount = -dues.cents_of(reg.solde)
    indu = Indu(regularisation_id=reg.id, declaration_id=decl.id, equipement_id=decl.equipement_id,
                annee=decl.annee, montant=amount, reste=amount, status="notifie", notifie_le=now or utcnow(),
                avis=notice_text(amount, decl, reg))
    db.session.add(indu)
    db.session.flush()
    afas_services._event(decl, "indu_notifie", actor, decl.status, decl.status, at=now, indu=indu.id,
                         montant=amount / 100)
    return indu


def choose_recovery(indu: Indu, actor, compenser: bool) -> None:
    """The partner's choice: offset on the next acomptes, or a recovery order now."""
    if indu.status not in ("notifie", "compensation") or indu.reste <= 0:
        raise PaymentRefused("Le mode de recouvrement de cet indu ne peut plus être modifié.", status=409)
    indu.status = "compensation" if compenser else "recouvrement"
    indu.choix_le, indu.choix_par_id = utcnow(), actor.id
    db.session.flush()
    afas_services._event(indu.declaration, "indu_" + indu.status, actor, indu.declaration.status,
                         indu.declaration.status, indu=indu.id)


# -- the payment order ------------------------------------------------------------------------

def _holds(nature: str, source_id: int) -> bool:
    return db.session.scalar(select(func.count()).select_from(LignePaiement).where(
        LignePaiement.nature == nature, LignePaiement.source_id == source_id,
        LignePaiement.status.in_(ACTIVE))) > 0


def _attempt(nature: str, source_id: int) -> int:
    return 1 + db.session.scalar(select(func.count()).select_from(LignePaiement).where(
        LignePaiement.nature == nature, LignePaiement.source_id == source_id))


def organisation_of(nature: str, item) -> Organisation:
    """The partner an acompte, a régularisation or an indu is paid to (or recovered from)."""
    decl = item.declaration if nature == "recouvrement" else db.session.get(Declaration, item.declaration_id)
    return decl.equipement.organisation


def _line(ordre: OrdrePaiement, nature: str, source_id: int, decl: Declaration, montant: int, echeance: date,
          numero: int | None = None, compensation: int = 0, indu_id: int | None = None) -> LignePaiement | None:
    org = decl.equipement.organisation
    bank = valid_iban(org.id)   # the IBAN in force now, copied on the line
    if bank is None or not org.siret:
        return None  # held back: listed to the agent (coordonnees.held_items)
    version = decl.last_version.numero
    return LignePaiement(ordre=ordre, nature=nature, source_id=source_id, tentative=_attempt(nature, source_id),
                         numero_acompte=numero, organisation_id=org.id, equipement_id=decl.equipement_id,
                         declaration_id=decl.id, version_numero=version, annee=decl.annee, siret=org.siret,
                         iban_reference=bank, montant_brut=montant + compensation, compensation=compensation,
                         indu_id=indu_id, montant=montant, echeance=echeance, status="emise")


def due_items(on: date) -> list[tuple[str, object]]:
    """What is due on ``on`` and not yet ordered: acomptes, positive régularisations, indus."""
    items: list[tuple[str, object]] = []
    for a in db.session.scalars(select(Acompte).where(Acompte.status == "programme", Acompte.date_prevue <= on)
                                .order_by(Acompte.date_prevue, Acompte.id)):
        items.append(("acompte", a))
    # A réel the agent already marked « payée » by hand (before the hand-off) is settled.
    for r in db.session.scalars(select(Regularisation).join(Declaration, Declaration.id == Regularisation.declaration_id)
                                .where(Regularisation.solde > 0, Regularisation.paid_at.is_(None),
                                       Declaration.status == "validee")
                                .order_by(Regularisation.id)):
        if r.computed_at.date() <= on and not _holds("regularisation", r.id):
            items.append(("regularisation", r))
    for i in db.session.scalars(select(Indu).where(Indu.reste > 0, Indu.status.in_(("notifie", "recouvrement")))
                                .order_by(Indu.id)):
        if dues.recovery_due(i.status, i.notifie_le, on) and not _holds("recouvrement", i.id):
            items.append(("recouvrement", i))
    return items


def produce_order(on: date | None = None, actor=None) -> OrdrePaiement | None:
    """Gather what is due into one signed order file (None when nothing is due). Idempotent: an
    ordered acompte leaves « programmé », a régularisation or indu with a live line is skipped,
    and the unique constraint on (nature, source, attempt) backs both."""
    on = on or paris_today()
    seq = 1 + db.session.scalar(select(func.count()).select_from(OrdrePaiement).where(OrdrePaiement.jour == on))
    ordre = OrdrePaiement(reference=f"OP-{on:%Y%m%d}-{seq:03d}", jour=on, nb_lignes=0, total_versements=0,
                          total_recouvrements=0, xml=b"", signature=b"", sha256="")
    lines: list[LignePaiement] = []
    for nature, item in due_items(on):
        if nature == "acompte":
            decl = db.session.get(Declaration, item.declaration_id)
            gross = dues.cents_of(item.montant)
            indus = list(db.session.scalars(select(Indu).where(
                Indu.equipement_id == item.equipement_id, Indu.status == "compensation", Indu.reste > 0)
                .order_by(Indu.id)))
            net, taken = dues.offset(gross, [i.reste for i in indus])
            line = _line(ordre, "acompte", item.id, decl, net, max(item.date_prevue, on), item.numero,
                         compensation=gross - net, indu_id=next((i.id for i, t in zip(indus, taken) if t), None))
            if line is None:
                continue
            for indu, part in zip(indus, taken):
                if part:
                    indu.reste -= part
                    indu.status = "solde" if indu.reste == 0 else indu.status
            item.status = "ordonne"
        elif nature == "regularisation":
            decl = db.session.get(Declaration, item.declaration_id)
            line = _line(ordre, "regularisation", item.id, decl, dues.cents_of(item.solde), on)
        else:
            line = _line(ordre, "recouvrement", item.id, item.declaration, item.reste, on, indu_id=item.id)
            if line is not None:
                item.status = "recouvrement"
        if line is not None:
            line.reference = f"{ordre.reference}-{len(lines) + 1:05d}"
            lines.append(line)
    if not lines:
        return None
    db.session.add(ordre)
    db.session.flush()
    payload = [OrderLine(reference=x.reference, nature=x.nature, siret=x.siret, iban_reference=x.iban_reference,
                         equipement=x.equipement.numero, exercice=x.annee, montant_brut=x.montant_brut,
                         compensation=x.compensation, montant=x.montant, echeance=x.echeance,
                         declaration_id=x.declaration_id, version=x.version_numero, numero_acompte=x.numero_acompte)
               for x in lines]
    ordre.xml = build_order(ordre.reference, on, payload)
    ordre.signature = signing.sign_order(ordre.xml)
    ordre.sha256 = hashlib.sha256(ordre.xml).hexdigest()
    ordre.nb_lignes = len(lines)
    ordre.total_versements, ordre.total_recouvrements = control_totals(payload)
    db.session.flush()
    record_event("afas", "ordre_paiement_produit", actor=actor, target=f"ordre_paiement:{ordre.id}",
                 reference=ordre.reference, lignes=len(lines), total_versements=ordre.total_versements,
                 total_recouvrements=ordre.total_recouvrements)
    return ordre


def relaunch_line(line: LignePaiement, actor) -> None:
    """The agent sends a rejected line again (bank details corrected): its source becomes due."""
    if line.status != "rejetee":
        raise PaymentRefused("Seule une ligne rejetée peut être relancée.", status=409)
    line.status = "relancee"
    if line.nature == "acompte":
        db.session.get(Acompte, line.source_id).status = "programme"
    db.session.flush()
    record_event("afas", "ligne_paiement_relancee", actor=actor, organisation_id=line.organisation_id,
                 target=f"ligne_paiement:{line.id}", reference=line.reference)


# -- the return file --------------------------------------------------------------------------

def _paid(line: LignePaiement, day: date) -> None:
    decl = line.declaration
    line.status, line.paye_le = "payee", day
    if line.nature == "acompte":
        a = db.session.get(Acompte, line.source_id)
        a.status, a.paid_at = "verse", utcnow()
        afas_services._event(decl, "acompte_verse", None, decl.status, decl.status, acompte=a.numero,
                             montant=line.montant / 100, verse_le=day.isoformat(), ligne=line.reference)
        db.session.flush()
        afas_services._settle_if_done(decl)
    elif line.nature == "regularisation":
        reg = db.session.get(Regularisation, line.source_id)
        reg.paid_at = utcnow()
        afas_services._event(decl, "regularisation_versee", None, decl.status, decl.status,
                             montant=line.montant / 100, verse_le=day.isoformat(), ligne=line.reference)
    else:
        indu = db.session.get(Indu, line.source_id)
        indu.reste = max(0, indu.reste - line.montant)
        indu.status = "solde" if indu.reste == 0 else indu.status
        afas_services._event(decl, "indu_recouvre", None, decl.status, decl.status,
                             montant=line.montant / 100, le=day.isoformat(), ligne=line.reference)


def _rejected(line: LignePaiement, day: date, motif: str | None) -> None:
    decl = line.declaration
    line.status, line.motif_rejet = "rejetee", (motif or "Motif non précisé")[:200]
    if line.nature == "acompte":
        db.session.get(Acompte, line.source_id).status = "rejete"
    if line.compensation and line.indu_id:  # the offset did not happen: the indu is due again
        indu = db.session.get(Indu, line.indu_id)
        indu.reste += line.compensation
        indu.status = "compensation"
    afas_services._event(decl, "paiement_rejete", None, decl.status, decl.status, ligne=line.reference,
                         motif=line.motif_rejet, le=day.isoformat())


def apply_return(xml: bytes, signature: bytes, actor=None, via: str = "web") -> RetourPaiement:
    """Verify (signature, then safe XML and XSD) and apply a return file. A line already settled
    is left as it is: replaying a file changes nothing (counted as « déjà traitées »)."""
    try:
        signing.verify_return(xml, signature)
    except signing.SignatureError as exc:
        raise PaymentRefused(exc.message, exc.code) from None
    try:
        parsed = read_return(xml)
    except Exception as exc:  # FormatError: stable code and a message without file content
        raise PaymentRefused(getattr(exc, "message", "Fichier illisible."), getattr(exc, "code", "XML")) from None
    refs = [r.ligne for r in parsed.results]
    lines = {x.reference: x for x in db.session.scalars(select(LignePaiement).where(LignePaiement.reference.in_(refs)))}
    unknown = [r for r in refs if r not in lines]
    if unknown:
        raise PaymentRefused(f"{accord(len(unknown), 'ligne inconnue', 'lignes inconnues')} du portail, dont {unknown[0]} : "
                             "le fichier n'est pas appliqué.", "LIGNE_INCONNUE")
    sha = hashlib.sha256(xml).hexdigest()
    replay = db.session.scalar(select(func.count()).select_from(RetourPaiement).where(RetourPaiement.sha256 == sha)) > 0
    retour = RetourPaiement(reference=parsed.reference, sha256=sha, received_by_id=getattr(actor, "id", None),
                            via=via, xml=xml, signature=signature, rejeu=replay)
    db.session.add(retour)
    db.session.flush()
    for r in parsed.results:
        line = lines[r.ligne]
        if line.status != "emise":
            retour.nb_deja_traitees += 1
            continue
        line.retour_id = retour.id
        if r.statut == "PAYE":
            _paid(line, r.date)
            retour.nb_payees += 1
        else:
            _rejected(line, r.date, r.motif)
            retour.nb_rejetees += 1
    db.session.flush()
    record_event("afas", "retour_paiement_applique", actor=actor, target=f"retour_paiement:{retour.id}",
                 reference=retour.reference, payees=retour.nb_payees, rejetees=retour.nb_rejetees,
                 deja_traitees=retour.nb_deja_traitees, via=via)
    return retour
