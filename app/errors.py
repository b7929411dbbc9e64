"""Friendly error pages. The 500 handler rolls back whatever the failed request began."""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.extensions import db

MESSAGES = {
    400: ("Bad request", "The request could not be understood. Please go back and try again."),
    403: ("Not allowed", "You do not have access to this page."),
    404: ("Page not found", "There is no page at this address. It may have moved."),
    405: ("Not allowed", "This page cannot be used that way."),
    413: ("Too large", "What you sent is larger than this site accepts."),
    429: ("Too many requests", "Please wait a little and try again."),
    500: ("Something went wrong", "The error has been logged. Please try again in a moment."),
}


def _render(status: int, message: str | None = None):
    title, default_message = MESSAGES.get(status, ("Error", "Something went wrong."))
    return (
        render_template(
            "error.html", status=status, title=title, message=message or default_message
        ),
        status,
    )


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return _render(error.code or 500)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return _render(400, "This form has expired. Please reload the page and submit it again.")

    @app.errorhandler(500)
    def server_error(error: Exception):
        db.session.rollback()
        return _render(500)
