"""The pages every French public site links from its footer, open to everyone: accessibility
statement, legal notice, personal data, cookies, site map, and help with the contacts of the
reader's role. Their content is plain text in the templates (``templates/info/``)."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from .access import public

bp = Blueprint("info", __name__)

# The accessibility statement: its status and the date of the evaluation it rests on (RGAA 4.1;
# an internal self-assessment, see docs/administration.md#accessibilité).
ACCESSIBILITE_STATUT = "partiellement conforme"
ACCESSIBILITE_AUDIT = date(2026, 11, 30)

# Who helps whom: the role's help, the contact to write to.
AIDE = {
    "caf_admin": ("Administrateur Caf", "Vous gérez les organisations partenaires, leurs contrats de service, "
                  "les habilitations et la piste d'audit.", "support-extranet@caf80.example"),
    "caf_agent": ("Agent Caf", "Vous instruisez les déclarations AFAS, suivez la file des impayés, les fichiers "
                  "EDI des bailleurs et les certificats de signature.", "support-extranet@caf80.example"),
    "partner_admin": ("Administrateur partenaire", "Vous créez les comptes de votre organisation, leur donnez "
                      "les habilitations prévues par vos contrats et gérez les jetons d'API.",
                      "partenaires@caf80.example"),
    "partner_manager": ("Gestionnaire", "Vous déclarez l'activité et les comptes de vos équipements (AFAS) "
                        "ou consultez les dossiers allocataires permis par votre profil (CDAP).",
                        "afas@caf80.example"),
    "bailleur_operator": ("Opérateur bailleur", "Vous déposez les fichiers signés de loyers et d'impayés, "
                          "lisez leurs accusés de réception et vos avis de paiement.", "edi@caf80.example"),
    "travailleur_social": ("Travailleur social", "Vous consultez les dossiers allocataires pour "
                           "l'accompagnement des familles et suivez la file des impayés de loyer.",
                           "cdap@caf80.example"),
}


@bp.get("/accessibilite")
@public
def accessibilite():
    return render_template("info/accessibilite.html", statut=ACCESSIBILITE_STATUT, audit=ACCESSIBILITE_AUDIT)


@bp.get("/mentions-legales")
@public
def mentions_legales():
    return render_template("info/mentions_legales.html")


@bp.get("/donnees-personnelles")
@public
def donnees_personnelles():
    return render_template("info/donnees_personnelles.html")


@bp.get("/cookies")
@public
def cookies():
    return render_template("info/cookies.html")


@bp.get("/plan-du-site")
@public
def plan_du_site():
    return render_template("info/plan_du_site.html")


@bp.get("/aide")
@public
def aide():
    role = current_user.role if current_user.is_authenticated else None
    return render_template("info/aide.html", mine=AIDE.get(role), aide=AIDE, role=role)


@bp.get("/favicon.ico")
@public
def favicon():
    return redirect(url_for("static", filename="dsfr/favicon/favicon.ico"), 301)
