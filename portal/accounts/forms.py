"""Accounts: sign-in, MFA, sessions, passwords."""
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    email = EmailField("Adresse électronique", validators=[DataRequired(message="Saisissez votre adresse électronique."), Length(max=254)])
    password = PasswordField("Mot de passe", validators=[DataRequired(message="Saisissez votre mot de passe."), Length(max=1024)])


class TotpForm(FlaskForm):
    code = StringField("Code à 6 chiffres de votre application d'authentification",
                       validators=[DataRequired(message="Saisissez le code."), Length(min=6, max=6, message="Le code compte 6 chiffres.")])


class MfaStartForm(FlaskForm):
    """POST button that creates the pending TOTP secret (`renew`: replace a pending one)."""
    renew = HiddenField()


class EmptyForm(FlaskForm):
    """CSRF-only form for POST buttons (logout, revoke...)."""


_NEW_PASSWORD_HINT = "Au moins 12 caractères ; une phrase de passe est bienvenue."


class NewPasswordMixin:
    new_password = PasswordField("Nouveau mot de passe", validators=[
        DataRequired(message="Saisissez le nouveau mot de passe."),
        Length(max=1024, message="Le mot de passe est trop long.")])
    confirm = PasswordField("Confirmation du nouveau mot de passe", validators=[
        DataRequired(message="Confirmez le nouveau mot de passe."),
        EqualTo("new_password", message="Les deux saisies ne correspondent pas.")])


class ChangePasswordForm(NewPasswordMixin, FlaskForm):
    current_password = PasswordField("Mot de passe actuel", validators=[
        DataRequired(message="Saisissez votre mot de passe actuel."), Length(max=1024)])


class ResetRequestForm(FlaskForm):
    email = EmailField("Adresse électronique", validators=[
        DataRequired(message="Saisissez votre adresse électronique."), Length(max=254)])


class ResetPasswordForm(NewPasswordMixin, FlaskForm):
    token = HiddenField(validators=[DataRequired(), Length(max=200)])
