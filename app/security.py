"""Response headers that hold on every page: a strict Content-Security-Policy and friends."""

from __future__ import annotations

from flask import Flask, Response

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


_SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)


def _security_headers(response: Response) -> Response:
    """Each header unless the view set its own; one look at the headers, not one a header."""
    headers = response.headers
    present = {name.lower() for name, _ in headers.items()}
    for name, value in _SECURITY_HEADERS:
        if name.lower() not in present:
            headers.add(name, value)
    return response


def register(app: Flask) -> None:
    app.after_request(_security_headers)
