"""The EDI's cryptography (generic part in portal.crypto): detached CMS signatures over the exact bytes of a file
(``signature``: sign, verify, stable refusal codes) and the keys and certificates behind them
(``pki``: the Caf's signing material, the trust anchors, the demo PKI). Which certificate a
landlord may sign with is ``edi.certificates``' business."""
