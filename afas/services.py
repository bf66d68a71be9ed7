"""AFAS state changes (verb-named; each writes the timeline event and the audit entry) and the
queries the views and the API share. The caller commits.

(Over 400 lines on purpose: the declaration's life cycle — draft, transmission, corrections,
validation, acomptes and régularisation — is one state machine, kept in one module so each
transition is read beside the others; the pure rules live in droit/controles/validation.)"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer, selectinload

from portal.audit import current_api_token, record_event
from portal.extensions import db
from portal.dates import paris_day, today as paris_today
from portal.filetypes import Refused
from portal.formatting import accord
from portal.models import utcnow

from . import attachments, bareme as bareme_mod, notifications as notify
from .bareme_versions import record_version
from .controles import Evaluation, evaluate
from .convention_service import jour as paris_day_of, refus_service
from .conventions import refus_sans_convention
from .droit import regularisation as compute_regularisation, schedule_acomptes
from .models import (Acompte, BaremeAnnee, BaremeVersion, Campagne, Declaration, DeclarationEvent, DeclarationMessage,
                     DeclarationVersion, Equipement, Regularisation)
from .schema import DECLARATION_TYPES, EDITABLE_STATUSES, fields_for
from .validation import format_number, parse_boolean

MAX_MESSAGE = 5000
MAX_JUSTIFICATION = 2000


class ActionRefused(Exception):
    """A state change that is not allowed now (answered 409 / shown as a message)."""
    def __init__(self, message: str, status: int = 409, evaluation: Evaluation | None = None,
                 problems: dict | None = None):
        super().__init__(message)
        self.message, self.status, self.evaluation, self.problems = message, status, evaluation, problems or {}


def today() -> date:
    """Today on the Paris calendar: the day deadlines and « en retard » are computed on."""
    return paris_today()


# -- barèmes and campaigns ------------------------------------------------------------------

def all_baremes() -> dict[int, bareme_mod.Bareme]:
    out = dict(bareme_mod.file_baremes())
    latest = dict(db.session.execute(select(BaremeVersion.annee, func.max(BaremeVersion.id))
                                     .group_by(BaremeVersion.annee)).all())
    for row in db.session.scalars(select(BaremeAnnee)):
        out[row.annee] = bareme_mod.Bareme(row.annee, row.doc, f"ajouté par la Caf le {row.imported_at:%d/%m/%Y}",
                                           version_id=latest.get(row.annee))
    return out


def get_bareme(annee: int) -> bareme_mod.Bareme:
    return bareme_mod.pick(all_baremes(), annee)


def import_bareme(text: str | bytes, actor=None, source: str = "") -> BaremeAnnee:
    """Add (or replace) a year's barème after validation; raises BaremeError with the problems.
    The barème it replaces is kept: each import is a numbered version with who, when and the
    differences (bareme_versions); frozen declaration versions keep the one they used."""
    current = all_baremes()
    parsed = bareme_mod.parse_bareme(text, others={y: b.doc for y, b in current.items()})
    record_version(parsed.doc, current.get(parsed.annee), actor, source)
    row = db.session.scalar(select(BaremeAnnee).where(BaremeAnnee.annee == parsed.annee))
    if row is None:
        row = BaremeAnnee(annee=parsed.annee, doc=parsed.doc)
        db.session.add(row)
    row.doc = parsed.doc
    row.imported_at = utcnow()
    row.imported_by_id = getattr(actor, "id", None)
    row.source = source[:200]
    db.session.flush()
    record_event("afas", "bareme_importe", actor=actor, target=f"bareme:{parsed.annee}",
                 annee=parsed.annee, fictif=parsed.fictif)
    return row


def _recorded_campagne(annee: int, type_declaration: str) -> Campagne | None:
    return db.session.scalar(select(Campagne).where(Campagne.annee == annee,
                                                    Campagne.type_declaration == type_declaration))


def campagne_window(annee: int, type_declaration: str) -> Campagne:
    """The window of a campaign, for reading (pages, API GET): the recorded row, else one built
    from the barème and *not* added to the session. GET requests write nothing; the row is
    recorded by the first state change that needs it (`ensure_campagne`) or by the daily
    `record_campaigns`."""
    camp = _recorded_campagne(annee, type_declaration)
    if camp is None:
        opens, due = get_bareme(annee).window(annee, type_declaration)
        camp = Campagne(annee=annee, type_declaration=type_declaration, ouverture=opens, echeance=due)
    return camp


def ensure_campagne(annee: int, type_declaration: str) -> Campagne:
    """The recorded campaign, created from the barème on first use (state changes only)."""
    camp = campagne_window(annee, type_declaration)
    if camp.id is None:  # not recorded yet
        try:
            with db.session.begin_nested():  # two first uses at once: the loser re-reads
                db.session.add(camp)
        except IntegrityError:
            camp = _recorded_campagne(annee, type_declaration)
    return camp


def campaign_rows(years) -> list[Campagne]:
    """Every campaign window of `years`, read-only (see `campagne_window`): the recorded rows
    in one statement, the barèmes read once for the windows not recorded yet."""
    years = list(years)
    recorded = {(c.annee, c.type_declaration): c for c in db.session.scalars(
        select(Campagne).where(Campagne.annee.in_(years)))}
    baremes = None
    out = []
    for y in years:
        for t in DECLARATION_TYPES:
            camp = recorded.get((y, t))
            if camp is None:
                baremes = all_baremes() if baremes is None else baremes
                opens, due = bareme_mod.pick(baremes, y).window(y, t)
                camp = Campagne(annee=y, type_declaration=t, ouverture=opens, echeance=due)
            out.append(camp)
    return out


def campaign_years(on: date | None = None) -> range:
    """The exercices whose campaigns the pages show around `on`: last year, this year, next year."""
    year = (on or today()).year
    return range(year - 1, year + 2)


def record_campaigns(on: date | None = None) -> int:
    """Record the campaigns of `campaign_years(on)` (daily beat task, idempotent): the
    dashboards count the recorded campaigns, whether or not a declaration was started yet.
    Returns how many were created."""
    recorded = select(func.count()).select_from(Campagne)
    before = db.session.scalar(recorded)
    for y in campaign_years(on):
        for t in DECLARATION_TYPES:
            ensure_campagne(y, t)
    db.session.flush()
    return db.session.scalar(recorded) - before


# -- queries ---------------------------------------------------------------------------------

def equipements_of(organisation_id: int, conventions: bool = False) -> list[Equipement]:
    """The organisation's active équipements (with their conventions read in one more
    statement when the page shows them, not one per équipement)."""
    query = select(Equipement).where(Equipement.organisation_id == organisation_id,
                                     Equipement.actif.is_(True)).order_by(Equipement.type, Equipement.nom)
    if conventions:
        query = query.options(selectinload(Equipement.conventions))
    return list(db.session.scalars(query))


def find_declaration(equipement_id: int, annee: int, type_: str) -> Declaration | None:
    return db.session.scalar(select(Declaration).where(Declaration.equipement_id == equipement_id,
                                                       Declaration.annee == annee, Declaration.type == type_))


def history_for(decl: Declaration) -> dict:
    """What the checks compare with: the droit prévisionnel of the same year, last year's réel."""
    out: dict = {}
    if decl.type != "previsionnel":
        prev = find_declaration(decl.equipement_id, decl.annee, "previsionnel")
        if prev is not None and prev.last_version is not None:
            out["droit_previsionnel"] = prev.last_version.montant
    reel = find_declaration(decl.equipement_id, decl.annee - 1, "reel")
    if reel is not None and reel.last_version is not None:
        out["prix_revient_reel_n1"] = (reel.last_version.droit or {}).get("indicateurs", {}).get("prix_revient")
        out["reel_n1_annee"] = decl.annee - 1
    return out


def evaluate_declaration(decl: Declaration, raw: dict | None = None) -> Evaluation:
    return evaluate(decl.equipement.type, decl.type, decl.data if raw is None else raw,
                    get_bareme(decl.annee), history_for(decl), {"territoire": decl.equipement.territoire})


def display_value(value) -> str:
    """A stored value as shown in an input (French decimal comma)."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, (int, float)):
        if float(value) == int(value):
            return str(int(value))
        return f"{value}".replace(".", ",")
    return str(value)


def prefill_source(equipement: Equipement, annee: int, type_: str) -> Declaration | None:
    """Réel from the prévisionnel (or its latest actualisé); actualisé from the réel N-1;
    prévisionnel from the réel N-1, else the prévisionnel N-1."""
    candidates = {
        "reel": [(annee, "actualise_septembre"), (annee, "actualise_juin"), (annee, "previsionnel")],
        "actualise_juin": [(annee - 1, "reel"), (annee, "previsionnel")],
        "actualise_septembre": [(annee, "actualise_juin"), (annee - 1, "reel"), (annee, "previsionnel")],
        "previsionnel": [(annee - 1, "reel"), (annee - 1, "previsionnel")],
    }[type_]
    for y, t in candidates:
        d = find_declaration(equipement.id, y, t)
        if d is not None and d.last_version is not None:
            return d
    return None


def _event(decl: Declaration, action: str, actor, status_from=None, status_to=None, at=None, **details) -> None:
    token = current_api_token()
    if token is not None:  # the timeline tells a program's action from its token creator's
        details["via_api"] = token.nom
    db.session.add(DeclarationEvent(declaration_id=decl.id, at=at or utcnow(), actor_id=getattr(actor, "id", None),
                                    action=action, status_from=status_from, status_to=status_to, details=details))
    record_event("afas", action, actor=actor, organisation_id=decl.equipement.organisation_id,
                 target=f"declaration:{decl.id}", statut=status_to, **details)


# -- partner actions -------------------------------------------------------------------------

def create_declaration(equipement: Equipement, annee: int, type_: str, actor) -> Declaration:
    if type_ not in DECLARATION_TYPES:
        raise ActionRefused("Type de déclaration inconnu.", 422)
    if not 2000 <= annee <= today().year + 2:
        raise ActionRefused("Exercice hors des années possibles.", 422)
    check_service(equipement)
    if find_declaration(equipement.id, annee, type_) is not None:
        raise ActionRefused(f"La déclaration {DECLARATION_TYPES[type_].lower()} {annee} existe déjà pour cet équipement.")
    source = prefill_source(equipement, annee, type_)
    data = {}
    if source is not None:
        known = {f.key for f in fields_for(equipement.type)}
        data = {k: display_value(v) if not isinstance(v, bool) else v
                for k, v in source.last_version.data.items() if k in known}
    camp = ensure_campagne(annee, type_)
    decl = Declaration(equipement_id=equipement.id, annee=annee, type=type_, status="brouillon", data=data,
                       justifications={}, created_by_id=getattr(actor, "id", None), created_at=utcnow(),
                       updated_at=utcnow(), echeance=camp.echeance)
    decl.equipement = equipement
    db.session.add(decl)
    db.session.flush()
    _event(decl, "creee", actor, None, "brouillon",
           prerempli_depuis=f"{source.titre}" if source else None)
    return decl


def _clean_text(text: str) -> str:
    """Strip control characters (except line breaks and tabs) from free text."""
    return "".join(ch for ch in text if ch in "\n\t" or ord(ch) >= 32 and ch != "\x7f")


def _clean_justifications(raw: dict | None) -> dict:
    """Keep one text per known point de contrôle code. A text over 2 000 characters is refused
    (422, one message per field `justification_<code>`), never cut."""
    from .controles import RULES
    out, problems = {}, {}
    for k, v in (raw or {}).items():
        text = _clean_text(str(v or "")).strip()
        if text and k in RULES:
            if len(text) > MAX_JUSTIFICATION:
                problems[f"justification_{k}"] = (
                    f"Justification trop longue : {format_number(len(text))} caractères, "
                    f"{format_number(MAX_JUSTIFICATION)} au plus. Raccourcissez-la.")
            out[k] = text
    if problems:
        codes = ", ".join(key[len("justification_"):] for key in problems)
        raise ActionRefused(f"Justification trop longue ({codes}) : {format_number(MAX_JUSTIFICATION)} caractères "
                            "au plus par justification.", 422, problems=problems)
    return out


def check_service(equipement: Equipement, now: datetime | None = None) -> None:
    """Writes on an équipement's declarations need its AFAS service active: a signed convention
    in force on the Paris day (afas.convention_service)."""
    refusal = refus_service(equipement, paris_day_of(now))
    if refusal:
        raise ActionRefused(refusal, 409)


def _check_editable(decl: Declaration) -> None:
    if decl.status not in EDITABLE_STATUSES:
        raise ActionRefused(f"La déclaration est « {decl.status_label.lower()} » : elle n'est plus modifiable.")
    check_service(decl.equipement)


def save_draft(decl: Declaration, raw: dict, justifications: dict | None, actor) -> Evaluation:
    """Keep what was typed (even invalid: nothing is lost) and return the evaluation. A yes/no
    field is stored as read by `parse_boolean` (what the API validated); a value that is not a
    yes/no answer is kept as typed, so the checks report it instead of reading « non ». A
    justification over the limit refuses the whole save (`ActionRefused`, 422)."""
    _check_editable(decl)
    cleaned = None if justifications is None else _clean_justifications(justifications)
    known = {f.key: f for f in fields_for(decl.equipement.type)}
    data = {}
    for key, f in known.items():
        value = raw.get(key)
        if f.kind == "booleen":
            answer = parse_boolean(value)
            data[key] = answer if answer is not None else str(value)[:60]
        elif value is not None:
            data[key] = value if isinstance(value, (int, float)) else str(value)[:60]
    decl.data = data
    if cleaned is not None:
        decl.justifications = cleaned
    decl.updated_at = utcnow()
    db.session.flush()
    return evaluate_declaration(decl)


def transmit(decl: Declaration, actor, via: str = "web", now: datetime | None = None) -> DeclarationVersion:
    """Re-run every check on the server; refuse on a bloquant or an unjustified alerte; freeze
    an immutable, hashed version. A first transmission outside the campaign window is flagged:
    late (after the deadline) or early (before the opening). A réel is refused while its
    exercice is not over (there are no actuals yet). A new version sent after a correction the
    Caf asked for keeps the timing of the first transmission: it is not a late transmission."""
    if decl.status not in EDITABLE_STATUSES:
        raise ActionRefused("Cette déclaration a déjà été transmise." if decl.status == "transmise"
                            else f"La déclaration est « {decl.status_label.lower()} » : elle ne peut pas être transmise.")
    now = now or utcnow()
    camp = ensure_campagne(decl.annee, decl.type)
    day = paris_day(now)  # the deadline is a Paris calendar day, « now » a UTC instant
    if decl.type == "reel" and day <= date(decl.annee, 12, 31):
        raise ActionRefused(f"Le réel {decl.annee} déclare les chiffres de l'exercice écoulé : il ne peut pas être "
                            f"transmis avant la fin de l'exercice {decl.annee}. La campagne ouvre le "
                            f"{camp.ouverture:%d/%m/%Y} (échéance le {camp.echeance:%d/%m/%Y}).")
    check_service(decl.equipement, now)
    refusal = refus_sans_convention(decl.equipement, decl.annee)
    if refusal:
        raise ActionRefused(refusal, 409)
    evaluation = evaluate_declaration(decl)
    if evaluation.bloquants:
        raise ActionRefused(f"Transmission impossible : {accord(len(evaluation.bloquants), 'point bloquant', 'points bloquants')} à corriger.",
                            422, evaluation)
    missing = evaluation.missing_justifications(decl.justifications)
    if missing:
        raise ActionRefused(f"Transmission impossible : justifiez {accord(len(missing), 'alerte')} "
                            f"({' ; '.join(c.titre for c in missing)}).", 422, evaluation,
                            {f"justification_{c.code}": "Justification obligatoire pour cette alerte." for c in missing})
    first = decl.versions[0] if decl.versions else None
    if first is None:
        late, early = day > camp.echeance, day < camp.ouverture
    else:  # a correction asked by the Caf: the timing is that of the first transmission
        late, early = bool(decl.late), bool(first.anticipee)
    alert_codes = [c.code for c in evaluation.alertes]
    version = DeclarationVersion(
        declaration_id=decl.id, numero=len(decl.versions) + 1, created_at=now, user_id=getattr(actor, "id", None),
        via=via, data=evaluation.parsed.values, controles=[c.as_dict() for c in evaluation.controles],
        justifications={k: v for k, v in decl.justifications.items() if k in alert_codes},
        droit=evaluation.droit.as_dict(), bareme_annee=get_bareme(decl.annee).annee, late=late, anticipee=early,
        bareme_version_id=get_bareme(decl.annee).version_id)
    version.content_hash = version.compute_hash()
    decl.versions.append(version)
    previous = decl.status
    decl.status = "transmise"
    decl.transmitted_at = now
    decl.droit = evaluation.droit.montant
    decl.has_alerts = bool(alert_codes)
    if version.numero == 1:
        decl.late = late
    decl.updated_at = now
    db.session.flush()
    _event(decl, "transmise", actor, previous, "transmise", at=now, version=version.numero, empreinte=version.content_hash,
           en_retard=late, anticipee=early, via=via, droit=evaluation.droit.montant)
    return version


def post_message(decl: Declaration, author, body: str, notify_people: bool = True,
                 files: list | None = None) -> DeclarationMessage:
    """A message in the declaration's thread, with its attachments (``files``: (name, stream)
    pairs, all checked before anything is kept; ``afas.attachments``)."""
    body = _clean_text(body or "").strip()
    try:
        checked = attachments.check(files or [])
    except Refused as exc:
        raise ActionRefused(str(exc), 422, problems={"pieces": str(exc)}) from None
    if not body and not checked:
        raise ActionRefused("Le message est vide.", 422, problems={"body": "Saisissez un message."})
    if len(body) > MAX_MESSAGE:
        raise ActionRefused("Message trop long.", 422,
                            problems={"body": f"Le message dépasse {MAX_MESSAGE} caractères ({len(body)})."})
    msg = DeclarationMessage(declaration_id=decl.id, author_id=author.id, from_caf=author.is_caf_staff,
                             body=body, created_at=utcnow())
    db.session.add(msg)
    db.session.flush()
    stored = attachments.attach(msg, checked)
    _event(decl, "message", author, decl.status, decl.status, message_id=msg.id,
           **({"pieces_jointes": [a.filename for a in stored]} if stored else {}))
    if notify_people:
        notify.message_posted(decl, msg)
    return msg


# -- Caf actions -----------------------------------------------------------------------------

def take_in_charge(decl: Declaration, agent, now: datetime | None = None) -> None:
    if decl.status != "transmise":
        raise ActionRefused("Seule une déclaration transmise peut être prise en charge.")
    decl.status, decl.agent_id = "en_instruction", agent.id
    _event(decl, "prise_en_charge", agent, "transmise", "en_instruction", at=now)


def request_correction(decl: Declaration, agent, message: str) -> None:
    if decl.status not in ("transmise", "en_instruction"):
        raise ActionRefused("Une correction ne peut être demandée que sur une déclaration transmise ou en instruction.")
    if not (message or "").strip():
        raise ActionRefused("Indiquez au partenaire ce qu'il doit corriger.", 422,
                            problems={"message": "Le message de demande de correction est obligatoire."})
    previous = decl.status
    post_message(decl, agent, message, notify_people=False)  # one notification: the correction
    decl.status = "a_corriger"
    decl.agent_id = decl.agent_id or agent.id
    # Reopen on the last transmitted data, as typed values the form can show.
    decl.data = {k: (v if isinstance(v, bool) else display_value(v)) for k, v in decl.last_version.data.items()}
    decl.justifications = dict(decl.last_version.justifications)
    _event(decl, "correction_demandee", agent, previous, "a_corriger", version=decl.last_version.numero)
    notify.correction_requested(decl, agent, message.strip())


def paid_acomptes_total(equipement_id: int, annee: int) -> float:
    total = db.session.scalar(select(func.coalesce(func.sum(Acompte.montant), 0)).where(
        Acompte.equipement_id == equipement_id, Acompte.annee == annee, Acompte.status.in_(("verse", "ordonne"))))
    return float(total or 0)


def _acomptes_plan(decl: Declaration, droit: float, on: date | None = None) -> tuple[list, float]:
    """The acomptes a `droit` validated on day `on` (default today) would schedule (70 % cap,
    re-based instalment by instalment on what was already paid this year, never dated before
    `on`) and that amount already paid. Shared by the validation and the live estimate."""
    paid = paid_acomptes_total(decl.equipement_id, decl.annee)
    plan = schedule_acomptes(droit, decl.annee, get_bareme(decl.annee), deja_verse=paid, on=on or today())
    return plan, paid


def payment_estimate(decl: Declaration, evaluation: Evaluation) -> dict | None:
    """What the estimated droit implies, as the validation would compute it: the acomptes of a
    prévisionnel or actualisé, the régularisation of a réel. None while the droit is unknown."""
    droit = evaluation.droit.montant
    if droit is None:
        return None
    taux = f"{float(get_bareme(decl.annee)['acomptes']['taux_max']) * 100:g} %"
    if decl.type == "reel":
        reg = compute_regularisation(droit, paid_acomptes_total(decl.equipement_id, decl.annee))
        return {"nature": "regularisation", "taux": taux, **reg}
    plan, paid = _acomptes_plan(decl, droit)
    return {"nature": "acomptes", "taux": taux, "acomptes": plan, "deja_verse": paid,
            "total": round(sum(e.montant for e in plan), 2)}


def _schedule(decl: Declaration, agent, droit: float, now: datetime) -> list[Acompte]:
    """(Re)schedule the year's acomptes on the validation day `now`: 70 % cap of `droit`, re-based
    on what was already paid; an instalment whose date has passed is due that day."""
    b = get_bareme(decl.annee)
    replaced = set()
    for a in db.session.scalars(select(Acompte).where(Acompte.equipement_id == decl.equipement_id,
                                                      Acompte.annee == decl.annee, Acompte.status == "programme")):
        a.status = "annule"
        replaced.add(a.declaration_id)
    db.session.flush()
    for other_id in replaced - {decl.id}:
        _settle_if_done(db.session.get(Declaration, other_id))
    start = (db.session.scalar(select(func.max(Acompte.numero)).where(Acompte.declaration_id == decl.id)) or 0)
    created = []
    plan, paid = _acomptes_plan(decl, droit, on=paris_day(now))
    for e in plan:
        a = Acompte(declaration_id=decl.id, equipement_id=decl.equipement_id, annee=decl.annee,
                    numero=start + e.numero, montant=e.montant, date_prevue=e.date_prevue, status="programme")
        db.session.add(a)
        created.append(a)
    db.session.flush()
    _event(decl, "acomptes_programmes", agent, decl.status, decl.status, at=now,
           acomptes=[{"date": a.date_prevue.isoformat(), "montant": float(a.montant)} for a in created],
           deja_verse=paid, plafond=f"{float(b['acomptes']['taux_max']) * 100:g} %")
    return created


def validate(decl: Declaration, agent, now: datetime | None = None) -> None:
    """Validate the last version on `now` (default: now). Prévisionnel: schedule acomptes (70 %
    cap, two instalments; the share of an instalment whose date has passed is due that day).
    Actualisé: re-base the remaining acomptes. Réel: compute the régularisation."""
    if decl.status not in ("transmise", "en_instruction"):
        raise ActionRefused("Seule une déclaration transmise ou en instruction peut être validée.")
    now = now or utcnow()
    previous = decl.status
    decl.status = "validee"
    decl.validated_at, decl.validated_by_id = now, agent.id
    decl.agent_id = decl.agent_id or agent.id
    _event(decl, "validee", agent, previous, "validee", at=now, version=decl.last_version.numero,
           droit=decl.last_version.montant)
    droit = float(decl.last_version.montant or 0)
    if decl.type == "previsionnel" or decl.type.startswith("actualise"):
        _schedule(decl, agent, droit, now)
    elif decl.type == "reel":
        for a in db.session.scalars(select(Acompte).where(Acompte.equipement_id == decl.equipement_id,
                                                          Acompte.annee == decl.annee, Acompte.status == "programme")):
            a.status = "annule"
        paid = paid_acomptes_total(decl.equipement_id, decl.annee)
        reg = compute_regularisation(droit, paid)
        row = decl.regularisation or Regularisation(declaration_id=decl.id)
        row.droit_reel, row.acomptes_verses, row.solde, row.computed_at = reg["droit_reel"], reg["acomptes_verses"], reg["solde"], now
        db.session.add(row)
        db.session.flush()
        _event(decl, "regularisation_calculee", agent, "validee", "validee", at=now, droit_reel=reg["droit_reel"],
               acomptes_verses=reg["acomptes_verses"], solde=reg["solde"], sens=reg["sens"])
        from .paiement.services import create_indu  # the payment hand-off (afas.paiement)
        create_indu(row, agent, now)
    notify.validated(decl, agent)


def mark_paid(decl: Declaration, agent) -> None:
    if decl.status != "validee":
        raise ActionRefused("Seule une déclaration validée peut être marquée payée.")
    if decl.type == "reel" and decl.regularisation is not None:
        decl.regularisation.paid_at = utcnow()
    for a in decl.acomptes:
        if a.status == "programme":
            raise ActionRefused("Des acomptes restent programmés : ils seront versés à leur date.")
    decl.status, decl.paid_at = "payee", utcnow()
    _event(decl, "payee", agent, "validee", "payee")
    notify.paid(decl, "Paiement effectué")


def _settle_if_done(decl: Declaration) -> None:
    """A validated declaration whose acomptes are all paid or replaced (none left to pay) is « payée »."""
    if decl.status == "validee" and decl.acomptes and all(a.status != "programme" for a in decl.acomptes) \
            and any(a.status == "verse" for a in decl.acomptes):
        decl.status, decl.paid_at = "payee", utcnow()
        _event(decl, "payee", None, "validee", "payee")


def pay_due_acomptes(on: date | None = None) -> int:
    """Mark acomptes whose date has come as paid; a prévisionnel whose acomptes are all paid
    becomes « payée ». Idempotent (daily beat task and CLI)."""
    on = on or today()
    count = 0
    for a in db.session.scalars(select(Acompte).where(Acompte.status == "programme", Acompte.date_prevue <= on)):
        a.status, a.paid_at = "verse", utcnow()
        decl = db.session.get(Declaration, a.declaration_id)
        _event(decl, "acompte_verse", None, decl.status, decl.status, acompte=a.numero, montant=float(a.montant))
        notify.paid(decl, f"Acompte n° {a.numero} versé", float(a.montant))
        count += 1
        db.session.flush()
        _settle_if_done(decl)
    db.session.flush()
    return count


# -- views helpers ---------------------------------------------------------------------------

@dataclass
class Expected:
    equipement: Equipement
    campagne: Campagne
    declaration: Declaration | None
    late: bool
    open: bool
    upcoming: bool
    flags: list[str] = field(default_factory=list)


def expected_declarations(organisation_id: int, on: date | None = None) -> list[Expected]:
    """For each équipement, the declarations of the campaign windows around today: open ones,
    those due in the last year, those opening in the next two months; late ones flagged."""
    on = on or today()
    out = []
    equipements = equipements_of(organisation_id)
    camps = [c for c in campaign_rows(campaign_years(on))
             if c.ouverture <= on + timedelta(days=60) and c.echeance >= on - timedelta(days=365)]
    camps.sort(key=lambda c: c.echeance)
    # The declarations of these campaigns and their versions in two statements, whatever the
    # number of équipements (not one per équipement and campaign). The lists show status and
    # flags only: the JSON contents are read if something asks for them, not decoded here.
    V = DeclarationVersion
    found = {} if not camps else {(d.equipement_id, d.annee, d.type): d for d in db.session.scalars(
        select(Declaration).join(Equipement)
        .where(Equipement.organisation_id == organisation_id, Equipement.actif.is_(True),
               Declaration.annee.in_({c.annee for c in camps}))
        .options(defer(Declaration.data), defer(Declaration.justifications),
                 selectinload(Declaration.versions).load_only(V.id, V.declaration_id, V.numero, V.created_at,
                                                              V.late, V.anticipee)))}
    for eq in equipements:
        for c in camps:
            decl = found.get((eq.id, c.annee, c.type_declaration))
            # Once transmitted (even reopened for a correction the Caf asked for), the flag of
            # the first transmission; before that, whether the deadline has passed.
            transmitted = decl is not None and bool(decl.versions)
            late = (decl.late if transmitted else on > c.echeance)
            out.append(Expected(eq, c, decl, late, c.ouverture <= on <= c.echeance, on < c.ouverture))
    return out


def diff_data(equipement_type: str, before: dict, after: dict) -> list[dict]:
    """Fields whose value changed between two versions (or a version and the draft)."""
    from .validation import parse_declaration
    a = parse_declaration(equipement_type, before).values
    b = parse_declaration(equipement_type, after).values
    return [{"champ": f.key, "libelle": f.label, "avant": a.get(f.key), "apres": b.get(f.key)}
            for f in fields_for(equipement_type) if a.get(f.key) != b.get(f.key)]


def queue_query(filters: dict, all_statuses: bool = False):
    """Caf work queue (or export): transmitted declarations, filtered, sorted by deadline.
    Without a status filter: those awaiting the Caf or the partner (all of them for exports)."""
    q = select(Declaration).join(Equipement).where(Declaration.status != "brouillon")
    if filters.get("type_equipement"):
        q = q.where(Equipement.type == filters["type_equipement"])
    if filters.get("type_declaration"):
        q = q.where(Declaration.type == filters["type_declaration"])
    if filters.get("annee"):
        q = q.where(Declaration.annee == filters["annee"])
    if filters.get("status"):
        q = q.where(Declaration.status == filters["status"])
    elif not all_statuses:
        q = q.where(Declaration.status.in_(("transmise", "en_instruction", "a_corriger")))
    if filters.get("alertes"):
        q = q.where(Declaration.has_alerts.is_(True))
    if filters.get("retard"):
        q = q.where(Declaration.late.is_(True))
    return q.order_by(Declaration.echeance.asc().nulls_last(), Declaration.transmitted_at, Declaration.id)
