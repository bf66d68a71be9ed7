"""Administration forms (CSRF on every one, labels and messages in French)."""
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from .. import registry
from ..accounts.forms import EmptyForm  # noqa: F401 (re-exported for the admin views)
from ..models import ORGANISATION_KIND_LABELS, ROLE_LABELS

# Choices are {value: label} dicts (WTForms 3.3 deprecates tuples). Services and their
# profiles are the ones the domains declared (portal.registry): set when a form is built.


def service_choices() -> dict[str, str]:
    return {s.code: s.label for s in registry.current().services.values()}


class ProfilLabels:
    """Mixin: the profile fields' labels and hints name the services that have profiles
    (``profil_services``, empty when none has: the templates then leave the field out)."""
    PROFIL_LABEL = "Profil {services}"
    PROFIL_HINT = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        contributions = registry.current()
        self.profil_services = ", ".join(contributions.profiled_services())
        field = self.profil if "profil" in self._fields else self.profils
        field.label.text = self.PROFIL_LABEL.format(services=self.profil_services)
        self.profil_hint = self.PROFIL_HINT.format(services=self.profil_services)
        if "profils" in self._fields:  # a contract's: any declared profile (narrowed per service)
            field.choices = contributions.all_profils()


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def role_choices(roles):
    return {r: ROLE_LABELS[r] for r in roles}


class UserCreateForm(FlaskForm):
    prenom = StringField("Prénom", validators=[DataRequired(message="Saisissez le prénom."), Length(max=100)])
    nom = StringField("Nom", validators=[DataRequired(message="Saisissez le nom."), Length(max=100)])
    email = EmailField("Adresse électronique professionnelle", validators=[
        DataRequired(message="Saisissez l'adresse électronique."), Length(max=254),
        Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="Adresse électronique invalide.")])
    role = SelectField("Rôle", choices={}, validate_choice=True)


class HabilitationForm(ProfilLabels, FlaskForm):
    PROFIL_LABEL = "Profil {services} (pour le service {services})"
    PROFIL_HINT = "Obligatoire pour {services} : un profil prévu par le contrat."
    service = SelectField("Service", choices={})
    profil = SelectField("Profil", choices={}, validate_choice=False)  # checked by the service


class SuspendForm(FlaskForm):
    motif = TextAreaField("Motif de la suspension", validators=[
        DataRequired(message="Indiquez le motif de la suspension."), Length(max=2000)])
    until = DateField("Jusqu'au (facultatif : sans date, jusqu'à levée)", validators=[Optional()])


class TokenForm(ProfilLabels, FlaskForm):
    PROFIL_LABEL = "Profil {services} (jeton {services})"
    PROFIL_HINT = "Obligatoire pour un jeton {services}."
    nom = StringField("Nom du jeton (logiciel ou usage)", validators=[
        DataRequired(message="Donnez un nom au jeton."), Length(max=100)])
    scopes = MultiCheckboxField("Services autorisés", choices={}, validate_choice=False)  # checked by the service
    profil = SelectField("Profil", choices={}, validate_choice=False)  # checked by the service
    days = IntegerField("Durée de validité (jours, 365 au plus)", default=90, validators=[
        DataRequired(message="Indiquez une durée en jours."),
        NumberRange(min=1, max=365, message="La durée va de 1 à 365 jours.")])


class OrganisationForm(FlaskForm):
    nom = StringField("Nom", validators=[DataRequired(message="Saisissez le nom."), Length(max=200)])
    kind = SelectField("Type", choices=dict(ORGANISATION_KIND_LABELS))
    siret = StringField("SIRET (14 chiffres)", validators=[Optional(), Regexp(r"^\d{14}$", message="Le SIRET compte 14 chiffres.")])
    code_bailleur = StringField("Code bailleur", validators=[Optional(), Length(max=20)])
    territoire = StringField("Territoire (département)", validators=[
        DataRequired(message="Indiquez le département."),
        Regexp(r"^(\d{2,3}|2A|2B)$", message="Un numéro de département : 80, 2A, 974…")])
    convention_ref = StringField("Référence de la convention", validators=[Optional(), Length(max=50)])
    convention_signee_le = DateField("Convention signée le", validators=[Optional()])


class ContratForm(ProfilLabels, FlaskForm):
    PROFIL_LABEL = "Profils {services} autorisés (contrat {services})"
    PROFIL_HINT = "Pour un contrat {services} : au moins un profil."
    service = SelectField("Service", choices={})
    profils = MultiCheckboxField("Profils autorisés", choices={})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.service.choices = service_choices()
    debut = DateField("Début", validators=[DataRequired(message="Indiquez la date de début.")])
    fin = DateField("Fin (facultatif)", validators=[Optional()])


class ContratUpdateForm(ProfilLabels, FlaskForm):
    PROFIL_LABEL = "Profils {services} autorisés"
    profils = MultiCheckboxField("Profils autorisés", choices={})
    fin = DateField("Fin (facultatif)", validators=[Optional()])


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # GET filters, no state change

    category = SelectField("Catégorie", choices={}, validate_choice=False)
    action = SelectField("Action", choices={}, validate_choice=False)
    organisation = SelectField("Organisation", choices={}, validate_choice=False)
    du = DateField("Du", validators=[Optional()])
    au = DateField("Au", validators=[Optional()])

    def validate_au(self, field):
        if field.data and self.du.data and field.data < self.du.data:
            raise ValidationError("La date de fin doit être le même jour que la date de début ou après.")
