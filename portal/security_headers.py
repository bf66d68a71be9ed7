"""CSP and the usual security headers on every response.

Caching: what the app builds (pages, API answers, downloads of personal data) is `no-store`,
whatever its type, unless the view declared it public (Cache-Control: public, e.g. the Caf's
certificate); static files keep their own headers. `send_file` would otherwise leave `no-cache`,
which lets a browser or proxy keep a copy of a receipt or an export.
"""
from flask import Flask, request

from .access import is_static_endpoint

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


DEFAULTS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
HSTS = ("Strict-Transport-Security", "max-age=63072000; includeSubDomains")


def init_app(app: Flask) -> None:
    plain = tuple((name.lower(), name, value) for name, value in DEFAULTS)
    secure = plain + ((HSTS[0].lower(), *HSTS),)

    @app.after_request
    def _headers(response):
        h = response.headers
        # Each header only if the view did not set it: one pass over the response's headers
        # (a `setdefault` per header scanned them seven times; every response goes through here).
        present = {name.lower() for name, _value in h.items()}
        for lowered, name, value in secure if app.config["SESSION_COOKIE_SECURE"] else plain:
            if lowered not in present:
                h.add(name, value)
        static = request.endpoint is not None and is_static_endpoint(request.endpoint)
        if not static and not response.cache_control.public:
            h["Cache-Control"] = "no-store"
        return response
