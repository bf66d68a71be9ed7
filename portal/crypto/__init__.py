"""Generic cryptography shared by the domains: detached CMS (CAdES-BES) signatures over the
exact bytes of a file (``signature``) and the Caf's signing material and trust anchors
(``pki``). In the shell so that AFAS signs its payment orders and EDI its acknowledgments with the
same code, neither importing the other. Which certificate a landlord may sign with stays ``edi.certificates``' business."""
