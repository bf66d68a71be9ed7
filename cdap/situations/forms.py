"""Forms of a case (CSRF by Flask-WTF) and their parsing into typed values with French messages
at the field: dates JJ/MM/AAAA (or AAAA-MM-JJ), amounts in euros (« 1 234,56 »), whole numbers."""
from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.widgets import CheckboxInput, ListWidget

from portal.dates import PARIS, naive_utc

from .models import (ACTIONS, CANAUX, CAPACITES, DROITS_A_VERIFIER, ETAPES_PROCEDURE, ISSUES, MAINTIEN,
                     MODALITES_RDV, MODES, RESULTATS_CONTACT, STATUTS_ACTION, STATUTS_RDV)

DATE_HINT = "Format JJ/MM/AAAA"


def _choices(labels: dict, blank: str | None = None) -> dict[str, str]:
    return ({"": blank} if blank else {}) | labels


def parse_date(text: str | None) -> date | None:
    text = (text or "").strip()
    for pattern, order in ((r"(\d{1,2})/(\d{1,2})/(\d{4})", "dmy"), (r"(\d{4})-(\d{2})-(\d{2})", "ymd")):
        m = re.fullmatch(pattern, text)
        if m:
            a, b, c = (int(g) for g in m.groups())
            try:
                return date(c, b, a) if order == "dmy" else date(a, b, c)
            except ValueError:
                return None
    return None


def parse_time(text: str | None) -> time | None:
    m = re.fullmatch(r"(\d{1,2})[:h](\d{2})", (text or "").strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        return None
    return time(int(m.group(1)), int(m.group(2)))


def parse_cents(text: str | None, maximum: int = 100_000_00) -> int | None:
    raw = re.sub(r"[\s\u202f€]", "", text or "").replace(",", ".")
    if not re.fullmatch(r"\d+(\.\d{1,2})?", raw):
        return None
    try:
        cents = int(Decimal(raw) * 100)
    except InvalidOperation:
        return None
    return cents if cents <= maximum else None


def parse_whole(text: str | None, minimum: int, maximum: int) -> int | None:
    raw = (text or "").strip()
    if not raw.isdigit() or len(raw) > 7:
        return None
    value = int(raw)
    return value if minimum <= value <= maximum else None


class _Form(FlaskForm):
    def need(self, name: str, value, message: str):
        if value is None:
            getattr(self, name).errors = [message]
        return value

    @property
    def has_errors(self) -> bool:
        return any(f.errors for f in self)


class ContactForm(_Form):
    on = StringField("Date de la tentative", description=DATE_HINT)
    canal = SelectField("Canal", choices=_choices(CANAUX), validate_choice=False)
    resultat = SelectField("Résultat", choices=_choices(RESULTATS_CONTACT), validate_choice=False)
    note = TextAreaField("Note courte (facultatif, 500 caractères)")

    def clean(self):
        return {"on": self.need("on", parse_date(self.on.data), "Saisissez une date au format JJ/MM/AAAA."),
                "canal": self.canal.data, "resultat": self.resultat.data, "note": self.note.data or ""}


class ModeForm(_Form):
    mode = SelectField("Mode d'intervention", choices=_choices(MODES, "— Choisir —"), validate_choice=False)

    def clean(self):
        return {"mode": self.need("mode", self.mode.data or None, "Choisissez le mode d'intervention.")}


class RdvForm(_Form):
    on = StringField("Date du rendez-vous", description=DATE_HINT)
    heure = StringField("Heure", description="Format HH:MM, heure de Paris")
    modalite = SelectField("Modalité", choices=_choices(MODALITES_RDV), validate_choice=False)
    note = TextAreaField("Note courte (facultatif, 500 caractères)")

    def clean(self):
        day = self.need("on", parse_date(self.on.data), "Saisissez une date au format JJ/MM/AAAA.")
        hour = self.need("heure", parse_time(self.heure.data), "Saisissez une heure au format HH:MM.")
        at = naive_utc(datetime.combine(day, hour, tzinfo=PARIS)) if day and hour else None
        return {"at": at, "modalite": self.modalite.data, "note": self.note.data or ""}


class RdvStatutForm(_Form):
    statut = SelectField("Statut du rendez-vous", choices=_choices(STATUTS_RDV), validate_choice=False)
    note = TextAreaField("Note courte (facultatif)")

    def clean(self):
        return {"statut": self.statut.data, "note": self.note.data or ""}


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class DiagnosticForm(_Form):
    ressources = StringField("Ressources mensuelles du foyer (€)", description="Salaires, prestations, pensions")
    charges = StringField("Charges fixes mensuelles (€)", description="Loyer restant à payer, énergie, assurances, crédits")
    personnes = StringField("Personnes au foyer")
    droits = MultiCheckboxField("Droits à vérifier", choices=_choices(DROITS_A_VERIFIER), validate_choice=False)
    capacite = SelectField("Capacité à payer le loyer courant", choices=_choices(CAPACITES), validate_choice=False)

    def clean(self):
        return {"ressources_cents": self.need("ressources", parse_cents(self.ressources.data),
                                              "Saisissez un montant en euros, par exemple 1 450,00."),
                "charges_cents": self.need("charges", parse_cents(self.charges.data),
                                           "Saisissez un montant en euros, par exemple 820,50."),
                "personnes": self.need("personnes", parse_whole(self.personnes.data, 1, 20),
                                       "Saisissez un nombre de personnes entre 1 et 20."),
                "droits": list(self.droits.data or []), "capacite": self.capacite.data}


class ActionForm(_Form):
    type = SelectField("Action", choices=_choices(ACTIONS), validate_choice=False)
    statut = SelectField("Statut", choices=_choices(STATUTS_ACTION), validate_choice=False)
    on = StringField("Date", description=DATE_HINT)
    detail = StringField("Précision (facultatif : service, référence)")
    montant = StringField("Plan : montant mensuel (€)")
    duree = StringField("Plan : durée (mois)")
    debut = StringField("Plan : premier versement le", description=DATE_HINT)
    accord_bailleur = BooleanField("Plan : accord du bailleur reçu")

    def clean(self):
        data = {"type": self.type.data, "statut": self.statut.data, "detail": self.detail.data or "",
                "on": self.need("on", parse_date(self.on.data), "Saisissez une date au format JJ/MM/AAAA."),
                "accord_bailleur": bool(self.accord_bailleur.data)}
        if self.type.data == "plan_apurement":
            data["montant_mensuel_cents"] = self.need("montant", parse_cents(self.montant.data),
                                                      "Saisissez le montant mensuel du plan en euros.")
            data["duree_mois"] = self.need("duree", parse_whole(self.duree.data, 1, 120),
                                           "Saisissez une durée entre 1 et 120 mois.")
            data["debut"] = self.need("debut", parse_date(self.debut.data), "Saisissez une date au format JJ/MM/AAAA.")
        return data


class ActionStatutForm(_Form):
    statut = SelectField("Nouveau statut", choices=_choices(STATUTS_ACTION), validate_choice=False)
    on = StringField("Date", description=DATE_HINT)
    accord_bailleur = BooleanField("Accord du bailleur reçu (plan d'apurement)")

    def clean(self):
        return {"statut": self.statut.data, "accord_bailleur": bool(self.accord_bailleur.data),
                "on": self.need("on", parse_date(self.on.data), "Saisissez une date au format JJ/MM/AAAA.")}


class MaintienForm(_Form):
    decision = SelectField("Décision", choices=_choices(MAINTIEN, "— Choisir —"), validate_choice=False)
    mois = StringField("Durée du maintien pour renégocier (mois, 3 au plus)", description="Seulement pour un maintien pour renégocier")
    motif = TextAreaField("Motif de la décision")

    def clean(self):
        mois = None
        if self.decision.data == "renegociation":
            mois = self.need("mois", parse_whole(self.mois.data, 1, 3), "Saisissez une durée de 1 à 3 mois.")
        return {"decision": self.need("decision", self.decision.data or None, "Choisissez la décision."),
                "mois": mois,
                "motif": self.need("motif", (self.motif.data or "").strip() or None, "Indiquez le motif de la décision.")}


class EtapeForm(_Form):
    etape = SelectField("Étape de la procédure", choices=_choices(ETAPES_PROCEDURE), validate_choice=False)
    on = StringField("Date de l'acte", description=DATE_HINT)

    def clean(self):
        return {"etape": self.etape.data,
                "on": self.need("on", parse_date(self.on.data), "Saisissez une date au format JJ/MM/AAAA.")}


class ClotureForm(_Form):
    issue = SelectField("Issue", choices=_choices(ISSUES, "— Choisir —"), validate_choice=False)
    minutes = StringField("Temps passé (minutes)")

    def clean(self):
        return {"issue": self.need("issue", self.issue.data or None, "Choisissez l'issue de la situation."),
                "minutes": self.need("minutes", parse_whole(self.minutes.data, 1, 100_000),
                                     "Saisissez le temps passé en minutes (nombre entier).")}


FORMS = {"contact": ContactForm, "mode": ModeForm, "rdv": RdvForm, "diagnostic": DiagnosticForm,
         "action": ActionForm, "maintien": MaintienForm, "procedure": EtapeForm, "cloture": ClotureForm}


def build_forms(formdata=None, submitted: str | None = None) -> dict:
    """One instance of each form, each with its own prefix; only the submitted one reads the
    request (the others stay empty)."""
    return {name: cls(prefix=name, formdata=formdata if name == submitted else None)
            for name, cls in FORMS.items()}
