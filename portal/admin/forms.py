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
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from ..accounts.forms import EmptyForm  # noqa: F401 (re-exported for the admin views)
from ..models import CDAP_PROFILES, ORGANISATION_KIND_LABELS, ROLE_LABELS

# Choices are {value: label} dicts (WTForms 3.3 deprecates tuples).
SERVICE_CHOICES = {"AFAS": "AFAS — déclarations d'activité",
                   "CDAP": "CDAP — consultation des dossiers allocataires",
                   "EDI": "EDI — échanges de fichiers bailleurs"}
PROFILE_CHOICES = dict(CDAP_PROFILES)


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


class HabilitationForm(FlaskForm):
    service = SelectField("Service", choices={})
    cdap_profile = SelectField("Profil CDAP (pour le service CDAP)", choices={}, validate_choice=False)


class SuspendForm(FlaskForm):
    motif = TextAreaField("Motif de la suspension", validators=[
        DataRequired(message="Indiquez le motif de la suspension."), Length(max=2000)])
    until = DateField("Jusqu'au (facultatif : sans date, jusqu'à levée)", validators=[Optional()])


class TokenForm(FlaskForm):
    nom = StringField("Nom du jeton (logiciel ou usage)", validators=[
        DataRequired(message="Donnez un nom au jeton."), Length(max=100)])
    scopes = MultiCheckboxField("Services autorisés", choices={}, validate_choice=False)  # checked by the service
    cdap_profile = SelectField("Profil CDAP (jeton CDAP)", choices={}, validate_choice=False)
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


class ContratForm(FlaskForm):
    service = SelectField("Service", choices=SERVICE_CHOICES)
    cdap_profiles = MultiCheckboxField("Profils CDAP autorisés (contrat CDAP)", choices=PROFILE_CHOICES)
    debut = DateField("Début", validators=[DataRequired(message="Indiquez la date de début.")])
    fin = DateField("Fin (facultatif)", validators=[Optional()])


class ContratUpdateForm(FlaskForm):
    cdap_profiles = MultiCheckboxField("Profils CDAP autorisés", choices=PROFILE_CHOICES)
    fin = DateField("Fin (facultatif)", validators=[Optional()])


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # GET filters, no state change

    category = SelectField("Catégorie", choices={}, validate_choice=False)
    action = StringField("Action", validators=[Optional(), Length(max=64)])
    organisation = SelectField("Organisation", choices={}, validate_choice=False)
    du = DateField("Du", validators=[Optional()])
    au = DateField("Au", validators=[Optional()])
