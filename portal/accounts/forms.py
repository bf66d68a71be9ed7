from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    email = EmailField("Adresse électronique", validators=[DataRequired(message="Saisissez votre adresse électronique."), Length(max=254)])
    password = PasswordField("Mot de passe", validators=[DataRequired(message="Saisissez votre mot de passe."), Length(max=1024)])


class TotpForm(FlaskForm):
    code = StringField("Code à 6 chiffres de votre application d'authentification",
                       validators=[DataRequired(message="Saisissez le code."), Length(min=6, max=6, message="Le code compte 6 chiffres.")])


class EmptyForm(FlaskForm):
    """CSRF-only form for POST buttons (logout, revoke...)."""
