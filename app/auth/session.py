"""Loading the signed-in person from the server-side session on every request."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app, redirect, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, current_user
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy.exc import OperationalError

from app.extensions import commit_keeping_loaded, db
from app.models import User
from app.services import accounts

# Pages a staff member without two-factor may still open while REQUIRE_2FA_FOR_STAFF holds.
_TWO_FACTOR_EXEMPT = {
    "auth.two_factor_setup",
    "auth.logout",
    "static",
    "api.healthz",
    "api.readyz",
}


class SessionCookie(SecureCookieSessionInterface):
    """Flask's signed session cookie, its serializer built once per set of keys: Flask builds
    one for every request, and building it costs a quarter of reading the cookie."""

    def __init__(self) -> None:
        self._serializers: dict[tuple, URLSafeTimedSerializer | None] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        try:
            return self._serializers[keys]
        except KeyError:
            serializer = self._serializers[keys] = super().get_signing_serializer(app)
            return serializer


def session_policy() -> accounts.SessionPolicy:
    config = current_app.config
    return accounts.SessionPolicy(
        idle=timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
        absolute=timedelta(hours=config["SESSION_ABSOLUTE_HOURS"]),
        remember_idle=timedelta(days=config["REMEMBER_IDLE_DAYS"]),
        remember_absolute=config["REMEMBER_COOKIE_DURATION"],
    )


def init_login(login_manager: LoginManager) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to open this page."
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(token: str) -> User | None:
        """The cookie holds a session token; a revoked or expired session signs nobody in."""
        user, seen_due = accounts.load_session_user(db.session, token, policy=session_policy())
        if seen_due is not None:
            try:
                accounts.mark_session_seen(db.session, seen_due)
                # The user, read outside the transaction, is not changed by it: reloading it
                # would cost a query.
                commit_keeping_loaded()
            except OperationalError:
                # SQLite may find the database busy past its timeout; the idle clock is kept to
                # the minute, so the next request tries again.
                db.session.rollback()
        return user


def require_two_factor_for_staff():
    """With REQUIRE_2FA_FOR_STAFF, staff set up two-factor before anything else."""
    if not current_app.config.get("REQUIRE_2FA_FOR_STAFF"):
        return None
    if request.endpoint in _TWO_FACTOR_EXEMPT or not current_user.is_authenticated:
        return None
    if current_user.is_staff and not current_user.has_two_factor:
        return redirect(url_for("auth.two_factor_setup"))
    return None


def no_store_when_signed_in(response):  # noqa: ANN001
    """Pages for a signed-in person are never kept by the browser or a shared cache."""
    if current_user.is_authenticated:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Vary"] = "Cookie"
    return response
