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


def init_app(app: Flask) -> None:
    @app.after_request
    def _headers(response):
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config["SESSION_COOKIE_SECURE"]:
            h.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
        static = request.endpoint is not None and is_static_endpoint(request.endpoint)
        if not static and not response.cache_control.public:
            h["Cache-Control"] = "no-store"
        return response
