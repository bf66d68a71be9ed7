"""Web declarations of the espace bailleur: the three acts of the EDI flows (IMPAYES,
MOUVEMENTS, LOYERS) as forms, for landlords without EDI software (a private landlord is an
organisation of one) and for those on EDI who prefer a form. Same rules (edi.declaration_rules),
same effects (the CDAP services edi.adapters calls for EDI records), a signed PDF receipt.

- models: the declaration (draft → sent) and its attachments;
- forms: form fields → record dict and field errors (pure);
- services: save a draft, attach a file, send (check, apply, receipt), each audited;
- receipt: the PDF acknowledgment;
- views: the landlord's pages and the Caf's.
"""
