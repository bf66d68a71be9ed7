"""EDI test files: landlords' XML built as the spec says, multipart bodies, and a signer with a
real X.509 certificate from the demo CA (used by tests/edi and the worker tests)."""
from __future__ import annotations


def multipart(data: bytes, signature: bytes | None = b"sig", name: str = "LOYERS.xml") -> dict:
    import io
    form = {"fichier": (io.BytesIO(data), name)}
    if signature is not None:
        form["signature"] = (io.BytesIO(signature), name + ".p7s")
    return form


NS = {"LOYERS": ("Loyers", "Loyer", "urn:caf:extranet:edi:loyers:1"),
      "IMPAYES": ("Impayes", "Impaye", "urn:caf:extranet:edi:impayes:1"),
      "MOUVEMENTS": ("Mouvements", "Mouvement", "urn:caf:extranet:edi:mouvements:1")}


FIELDS = {
    "LOYERS": [("CodeAgence", "code_agence"), ("CodeLocataire", "code_locataire"), ("NumeroAllocataire", "numero_allocataire"),
               ("LoyerCentimes", "loyer_cents"), ("ChargesCentimes", "charges_cents"),
               ("DateEffet", "date_effet"), ("NombreColocataires", "nb_colocataires")],
    "IMPAYES": [("CodeLocataire", "code_locataire"), ("NumeroAllocataire", "numero_allocataire"),
                ("MontantDetteCentimes", "montant_dette_cents"),
                ("LoyerMensuelCentimes", "loyer_mensuel_cents"),
                ("DateConstitution", "date_constitution"), ("PeriodeDebut", "periode_debut"),
                ("PeriodeFin", "periode_fin"), ("PlanApurement", "plan_apurement")],
    "MOUVEMENTS": [("CodeLocataire", "code_locataire"), ("NumeroAllocataire", "numero_allocataire"),
                   ("TypeMouvement", "type"), ("DateMouvement", "date_mouvement"),
                   ("LoyerCentimes", "loyer_cents"), ("ChargesCentimes", "charges_cents")],
}


def build_xml(flow: str, org, records: list[dict], *, file_id: str = "F-001", sequence: int = 1,
              mode: str = "PRODUCTION", created_at=None, count: int | None = None,
              sender_code: str | None = None) -> bytes:
    """A file of `flow` from `org` (envelope as the spec says); records: dicts of RECORD_FIELDS."""
    from datetime import datetime, timezone
    from xml.sax.saxutils import escape
    root, item, ns = NS[flow]
    created = (created_at or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = [f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{ns}">\n<Enveloppe>'
           f'<Emetteur><Code>{sender_code or org.code_bailleur}</Code><Siren>{org.siret[:9]}</Siren></Emetteur>'
           f'<Destinataire><Code>CAF80</Code><Siren>534889877</Siren></Destinataire>'
           f'<Flux>{flow}</Flux><IdentifiantFichier>{file_id}</IdentifiantFichier>'
           f'<NumeroSequence>{sequence}</NumeroSequence><DateCreation>{created}</DateCreation>'
           f'<NombreEnregistrements>{len(records) if count is None else count}</NombreEnregistrements>'
           f'<Mode>{mode}</Mode><VersionSchema>1</VersionSchema></Enveloppe>\n']
    for rec in records:
        out.append(f"<{item}><Identifiant>{rec['identifiant']}</Identifiant>")
        for tag, key in FIELDS[flow]:
            value = rec.get(key)
            if value is None:
                continue
            if isinstance(value, bool):
                value = "true" if value else "false"
            out.append(f"<{tag}>{escape(str(value))}</{tag}>")
        out.append(f"</{item}>\n")
    out.append(f"</{root}>\n")
    return "".join(out).encode()


class Signer:
    """A landlord's signing key + X.509 certificate issued by the demo CA (trust anchor)."""

    def __init__(self, app, org, register: bool = True, **cert_options):
        from portal.crypto import pki
        from portal.crypto.signature import load_certificates, load_private_key
        demo = pki.ensure_demo_pki(app.config["VAR_DIR"])
        self.ca_key = load_private_key(demo.path("ca_key").read_bytes())
        self.ca_cert = load_certificates(demo.path("ca_cert").read_bytes())[0]
        self.key, self.cert = pki.issue_signing_certificate(
            self.ca_key, self.ca_cert, f"{org.nom} - EDI", org.nom, org.siret[:9], **cert_options)
        self.org = org
        self.registered = register_certificate(org, self.cert) if register else None

    def sign(self, data: bytes, key=None, cert=None) -> bytes:
        from portal.crypto.signature import sign_detached
        return sign_detached(data, key or self.key, cert or self.cert)


def register_certificate(org, cert, approve: bool = True):
    """Register (and approve) `cert` for `org` through edicrypto's certificate service."""
    from cryptography.hazmat.primitives import serialization
    from edi.certificates import services
    registered = services.register_certificate(org, cert.public_bytes(serialization.Encoding.PEM),
                                              actor=None, label="Certificat de test")
    if approve:
        services.approve_certificate(registered, actor=None)
    return registered
