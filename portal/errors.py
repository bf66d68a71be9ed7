"""Error pages (HTML) and problem+json (API) that show no internals."""
from typing import NoReturn

from flask import Flask, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, default_exceptions

MESSAGES = {
    400: ("Requête invalide", "La requête n'a pas pu être traitée."),
    401: ("Connexion requise", "Connectez-vous pour continuer."),
    403: ("Accès refusé", "Vous n'avez pas les droits nécessaires pour accéder à cette page."),
    404: ("Page introuvable", "La page demandée n'existe pas ou n'est pas accessible."),
    405: ("Méthode non autorisée", "Cette action n'est pas permise sur cette adresse."),
    413: ("Fichier trop volumineux", "Le fichier dépasse la taille maximale autorisée."),
    415: ("Format non pris en charge", "Le contenu envoyé n'est pas dans un format accepté."),
    422: ("Données invalides", "Certaines données sont invalides."),
    429: ("Trop de tentatives", "Patientez quelques minutes avant de réessayer."),
    500: ("Erreur interne", "Une erreur inattendue s'est produite. Réessayez plus tard."),
}


USER_MESSAGE = "user_message"


def refuse(code: int, message: str) -> NoReturn:
    """Abort with a message for the user (French): shown on the error page and as the
    problem+json `detail`, where other errors show the generic message of their code (werkzeug's
    own descriptions are English and say nothing useful)."""
    exc = default_exceptions[code](description=message)
    setattr(exc, USER_MESSAGE, True)
    raise exc


def wants_problem_json() -> bool:
    return request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        code = exc.code or 500
        if isinstance(exc, CSRFError):
            title, detail = "Jeton de sécurité invalide", "Le formulaire a expiré ou a été altéré : rechargez la page."
        else:
            title, detail = MESSAGES.get(code, (exc.name, exc.description or ""))
            if getattr(exc, USER_MESSAGE, False):  # `refuse(...)`: our own French message
                detail = exc.description
        if wants_problem_json():
            from .api import problem
            response = problem(code, title, detail)
        else:
            response = make_response(render_template("errors/error.html", code=code, title=title,
                                                      detail=detail), code)
        if code == 405 and getattr(exc, "valid_methods", None):
            # RFC 9110 §15.5.6: a 405 lists the methods the address takes.
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unhandled(exc: Exception):
        app.logger.exception("erreur non gérée sur %s", request.path)
        from .extensions import db
        db.session.rollback()
        return _http_error(InternalServerError())
