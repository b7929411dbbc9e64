"""Loading the signed-in person from the server-side session on every request."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask, current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import LoginManager, current_user
from flask_wtf.csrf import generate_csrf
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.exc import OperationalError
from werkzeug.wrappers import Request, Response

from app.direct_reads import DirectRead
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


# Cookies whose signature a worker has checked, remembered by their exact value: a person
# sends the same cookie with every request until it changes. Emptied when full (a few hundred
# bytes an entry), and with every change of keys.
VERIFIED_COOKIES = 2048


class _Signing:
    """The serializer of one set of keys, and the cookies it has verified: value -> (session
    data, signed at, in seconds)."""

    def __init__(self, serializer: URLSafeTimedSerializer | None) -> None:
        self.serializer = serializer
        self.verified: dict[str, tuple[dict, float]] = {}
        # (cookie name, Cookie header) -> that cookie's value in the header: parsing the whole
        # header on every request cost a thirtieth of a signed-in lesson page.
        self.in_header: dict[tuple[str, str], str | None] = {}


class SessionCookie(SecureCookieSessionInterface):
    """Flask's signed session cookie, read as Flask reads it, with less work on every request.

    Flask builds a serializer for every request, and checks the cookie's signature and decodes
    it every time (a tenth of a signed-in lesson page). Here the serializer is built once per
    set of keys, and a cookie already verified is not verified again: its value is its key, so
    a changed letter misses and is checked in full. Its age is still checked on every request.
    Only cookies holding plain values are kept, so that no request can change another's copy.
    """

    def __init__(self) -> None:
        self._signing: tuple[tuple, _Signing] | None = None

    def _for(self, app: Flask) -> _Signing:
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        current = self._signing
        if current is None or current[0] != keys:
            current = self._signing = (keys, _Signing(super().get_signing_serializer(app)))
        return current[1]

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        return self._for(app).serializer

    def save_session(self, app: Flask, session: SecureCookieSession, response: Response) -> None:
        """As Flask's, sooner when there is nothing to write (almost every request): Flask reads
        seven cookie settings first."""
        if (
            session
            and not session.modified
            and not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"])
        ):
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        signing = self._for(app)
        if signing.serializer is None:
            return None
        name = self.get_cookie_name(app)
        in_header = (name, request.environ.get("HTTP_COOKIE", ""))
        try:
            value = signing.in_header[in_header]
        except KeyError:
            value = request.cookies.get(name)
            if len(signing.in_header) >= VERIFIED_COOKIES:
                signing.in_header.clear()
            signing.in_header[in_header] = value
        if not value:
            return self.session_class()
        max_age = app.permanent_session_lifetime.total_seconds()
        found = signing.verified.get(value)
        if found is None:
            try:
                data, signed_at = signing.serializer.loads(
                    value, max_age=int(max_age), return_timestamp=True
                )
            except BadSignature:  # forged, or expired (SignatureExpired)
                return self.session_class()
            found = (data, signed_at.timestamp())
            if all(isinstance(item, str | int | float | bool | None) for item in data.values()):
                if len(signing.verified) >= VERIFIED_COOKIES:
                    signing.verified.clear()
                signing.verified[value] = found
        elif not 0 <= time.time() - found[1] <= max_age:
            return self.session_class()
        return self.session_class(found[0])


# Signed CSRF tokens by (secret, the session's raw token). Flask-WTF signs the raw token anew
# on every page (a tenth of a lesson page); with no time limit, any signed copy is as good.
_SIGNED_CSRF: dict[tuple[str, str], str] = {}


def reuse_signed_csrf_token() -> None:
    """Before a GET: the session's CSRF token as signed at its first page in this process, put
    where Flask-WTF looks first (`g.csrf_token`), so that no page signs it again. Only while
    tokens have no time limit (WTF_CSRF_TIME_LIMIT = None); only on GET, which never changes
    the session's raw token (signing in and out, which do, are POSTs)."""
    config = current_app.config
    if request.method not in ("GET", "HEAD") or config["WTF_CSRF_TIME_LIMIT"] is not None:
        return
    secret = config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
    raw = session.get("csrf_token")
    if raw is None:
        if "_user_id" not in session:
            # A visitor's page: Flask-WTF makes the raw token only if the page has a form, so
            # that a page without one starts no session.
            return
        # The first page after signing in (which renews the raw token): made and signed here,
        # once, rather than by the page and then again by the next one.
        token = generate_csrf()
        raw = session["csrf_token"]
    else:
        token = _SIGNED_CSRF.get((secret, raw))
        if token is not None:
            g.csrf_token = token
            return
        token = generate_csrf()
    if len(_SIGNED_CSRF) >= VERIFIED_COOKIES:
        _SIGNED_CSRF.clear()
    _SIGNED_CSRF[(secret, raw)] = token


@dataclass
class _Along:
    """A page's row asked of this request's sign-in lookup (in `g`), and once read, the row."""

    read: DirectRead
    values: dict[str, object]
    done: bool = False
    row: tuple | None = None


def read_along_with_sign_in(read: DirectRead, **values: object) -> None:
    """Have this request's sign-in lookup, before it runs (a blueprint's URL value
    preprocessor runs first), read a page's own row in the same statement: `read` is made by
    `accounts.session_read_along`. The view then finds that row with `read_along`. On
    PostgreSQL this spares a round trip to the database on every such page."""
    if "sign_in_along" not in g:
        g.sign_in_along = _Along(read, values)


def read_along(read: DirectRead, **values: object) -> tuple | None:
    """The row `read` got with the sign-in lookup for exactly these values; None when it did
    not run with it (nobody signed in, or the person was loaded before it was asked for)."""
    along = g.get("sign_in_along")
    if along is None or along.read is not read or along.values != values:
        return None
    return along.row


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
    # Sessions are rows on the server, revoked there; no page asks for a "fresh" sign-in (a
    # sensitive change asks for the password again). Flask-Login's "basic" protection only
    # marks a session not fresh when the client's address or browser changes, so it would
    # hash them on every request for nothing.
    login_manager.session_protection = None
    login_manager.login_message = "Please sign in to open this page."
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(token: str) -> User | None:
        """The cookie holds a session token; a revoked or expired session signs nobody in."""
        along = g.get("sign_in_along")
        if along is not None and along.done:  # read by an earlier load of this request
            along = None
        user, seen_due, row = accounts.load_session_user(
            db.session,
            token,
            policy=session_policy(),
            along=(along.read, along.values) if along is not None else None,
        )
        if along is not None:
            along.done, along.row = True, row
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
    """Pages for a signed-in person are never kept by the browser or a shared cache. (Their
    Vary says Cookie: the session, read to know who is signed in, adds it as it is saved.)"""
    if current_user.is_authenticated:
        response.headers["Cache-Control"] = "no-store"
    return response
