"""Response headers that hold on every page: a strict Content-Security-Policy and friends."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# No inline script or style anywhere: everything comes from our own static files.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


_SECURITY_HEADERS = tuple(
    (name.lower(), name, value)
    for name, value in (
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    )
)


class SecurityHeaders:
    """WSGI middleware: each header on every response unless the view set its own.

    Added as the response starts rather than in an after-request hook: werkzeug checks each
    header given to a response for newlines and looks through the ones already there, which
    cost a twentieth of a signed-in lesson page for these six constants.
    """

    def __init__(self, wsgi_app: WSGIApplication) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        def start_with_headers(status: str, headers: list[tuple[str, str]], *exc_info: object):
            present = {name.lower() for name, _ in headers}
            headers = headers + [
                (name, value) for key, name, value in _SECURITY_HEADERS if key not in present
            ]
            return start_response(status, headers, *exc_info)

        return self.wsgi_app(environ, start_with_headers)


def register(app: Flask) -> None:
    app.wsgi_app = SecurityHeaders(app.wsgi_app)
