"""Generic cryptography shared by the domains: detached CMS (CAdES-BES) signatures over the
exact bytes of a file (``signature``) and the Caf's signing material and trust anchors
(``pki``). Moved here from ``edi.crypto`` so AFAS signs its payment orders without importing
EDI's internals; ``edi.crypto.signature`` / ``edi.crypto.pki`` remain as aliases of these very
modules. Which certificate a landlord may sign with stays ``edi.certificates``' business."""
