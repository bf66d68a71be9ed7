"""Pages: a landlord's signing certificates (partner admin uploads and revokes, operators see),
the Caf's approval queue (Caf admin approves, refuses, revokes), and the public downloads of the
Caf's signing certificate and trust anchors (so landlords can verify with openssl)."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.access import get_own_or_404, public, requires
from portal.extensions import db

from . import services
from .models import RegisteredCertificate
from portal.dates import naive_utc

bp = Blueprint("edi_certs", __name__, template_folder="templates")

LANDLORD_ROLES = {"partner_admin", "bailleur_operator"}
CAF_ROLES = {"caf_admin", "caf_agent"}


class UploadForm(FlaskForm):
    nom = StringField("Nom du certificat", validators=[DataRequired(message="Donnez un nom au certificat."),
                                                      Length(max=100)])
    certificat = FileField("Certificat (PEM)")
    usage_from = DateField("Utilisable à partir du", validators=[Optional()])
    usage_until = DateField("Utilisable jusqu'au", validators=[Optional()])


class MotifForm(FlaskForm):
    motif = TextAreaField("Motif", validators=[DataRequired(message="Indiquez le motif."), Length(max=2000)])


class EmptyForm(FlaskForm):
    pass


def _cert_or_404(cert_id: int) -> RegisteredCertificate:
    return get_own_or_404(RegisteredCertificate, cert_id)


def _day(value) -> datetime | None:
    return naive_utc(datetime(value.year, value.month, value.day, tzinfo=UTC)) if value else None


@bp.route("/edi/certificats", methods=["GET", "POST"])
@requires(LANDLORD_ROLES)
def index():
    org = current_user.organisation
    if org.kind != "bailleur":  # the menu entry is role-based: explain rather than answer 404
        return render_template("edi_certs/not_landlord.html", org=org)
    form = UploadForm()
    status = 200
    if request.method == "POST":
        if current_user.role != "partner_admin":
            abort(403)
        if form.validate_on_submit():
            upload = form.certificat.data
            data = upload.read(services.MAX_PEM_BYTES + 1) if upload else b""
            try:
                cert = services.register_certificate(
                    org, data, actor=current_user, label=form.nom.data,
                    usage_from=_day(form.usage_from.data), usage_until=_day(form.usage_until.data))
            except services.CertificateError as error:
                field = {"nom": form.nom, "usage_until": form.usage_until}.get(error.field, form.certificat)
                field.errors = list(field.errors) + [error.message]
                db.session.rollback()
            else:
                db.session.commit()
                flash("Certificat enregistré : il sera utilisable dès son approbation par la Caf.", "success")
                return redirect(url_for("edi_certs.detail", cert_id=cert.id))
        status = 422
    certificates = services.certificates_of(org.id)
    return render_template("edi_certs/index.html", org=org, form=form, certificates=certificates,
                           can_manage=current_user.role == "partner_admin"), status


@bp.get("/edi/certificats/<int:cert_id>")
@requires(LANDLORD_ROLES | CAF_ROLES)
def detail(cert_id: int):
    cert = _cert_or_404(cert_id)
    can_revoke = cert.revoked_at is None and (
        current_user.role == "caf_admin"
        or (current_user.role == "partner_admin" and cert.organisation_id == current_user.organisation_id))
    return render_template("edi_certs/detail.html", cert=cert, motif_form=MotifForm(),
                           can_revoke=can_revoke, can_decide=current_user.role == "caf_admin",
                           has_successor=services.has_successor(cert))


@bp.get("/edi/certificats/<int:cert_id>/certificat.pem")
@requires(LANDLORD_ROLES | CAF_ROLES)
def download(cert_id: int):
    cert = _cert_or_404(cert_id)
    return Response(cert.pem, mimetype="application/x-pem-file",
                    headers={"Content-Disposition": f'attachment; filename="certificat-{cert.id}.pem"'})


@bp.post("/edi/certificats/<int:cert_id>/revoquer")
@requires({"partner_admin", "caf_admin"})
def revoke(cert_id: int):
    cert = _cert_or_404(cert_id)
    if current_user.role == "partner_admin" and cert.organisation_id != current_user.organisation_id:
        abort(404)
    return _decide_with_motif(cert, services.revoke_certificate, missing="Indiquez le motif de la révocation.",
                              success="Certificat révoqué : les fichiers signés avec lui sont désormais refusés.")


def _decide_with_motif(cert: RegisteredCertificate, decide, *, missing: str, success: str):
    """A decision that needs a motif (revocation, refusal): refused without one, committed with
    its audit entry by the service, back to the certificate's page either way."""
    form = MotifForm()
    if not form.validate_on_submit():
        flash(missing, "error")
    else:
        try:
            decide(cert, actor=current_user, motif=form.motif.data)
        except services.CertificateError as error:
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(success, "success")
    return redirect(url_for("edi_certs.detail", cert_id=cert.id))


@bp.get("/caf/edi/certificats")
@requires(CAF_ROLES)
def caf_index():
    pending = services.pending_certificates()
    expiring = services.expiring_certificates()
    show_all = request.args.get("tous") == "1"
    everything = []
    if show_all:
        everything = list(db.session.scalars(select(RegisteredCertificate)
                                             .order_by(RegisteredCertificate.uploaded_at.desc()).limit(500)))
    return render_template("edi_certs/caf_index.html", pending=pending, expiring=expiring,
                           everything=everything, show_all=show_all, form=EmptyForm())


@bp.post("/caf/edi/certificats/<int:cert_id>/approuver")
@requires({"caf_admin"})
def approve(cert_id: int):
    cert = _cert_or_404(cert_id)
    if EmptyForm().validate_on_submit():
        try:
            services.approve_certificate(cert, actor=current_user)
        except services.CertificateError as error:
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(f"Certificat « {cert.label} » de {cert.organisation.nom} approuvé.", "success")
    return redirect(url_for("edi_certs.detail", cert_id=cert.id))


@bp.post("/caf/edi/certificats/<int:cert_id>/refuser")
@requires({"caf_admin"})
def reject(cert_id: int):
    return _decide_with_motif(_cert_or_404(cert_id), services.reject_certificate,
                              missing="Indiquez le motif du refus.", success="Certificat refusé.")


@bp.get("/edi/certificat-caf.pem")
@public
def caf_certificate():
    """The Caf's signing certificate (and intermediates): verify ACCUSE / AVIS_PAIEMENT with it."""
    from portal.crypto.pki import caf_signing_material
    return Response(caf_signing_material().cert_pem, mimetype="application/x-pem-file",
                    headers={"Content-Disposition": 'attachment; filename="certificat-caf.pem"',
                             "Cache-Control": "public, max-age=3600"})


@bp.get("/edi/autorites-de-confiance.pem")
@public
def trust_anchors_pem():
    """The certification authorities the Caf trusts (openssl -CAfile)."""
    from cryptography.hazmat.primitives import serialization

    from portal.crypto.pki import trust_anchors
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in trust_anchors())
    return Response(pem, mimetype="application/x-pem-file",
                    headers={"Content-Disposition": 'attachment; filename="autorites-edi.pem"',
                             "Cache-Control": "public, max-age=3600"})
