"""Signing in and out, sessions, passwords and two-factor, through real requests."""

from __future__ import annotations

import email
import re
import time
from datetime import timedelta
from pathlib import Path

import flask_wtf.csrf
import pyotp
import werkzeug.sansio.request
from argon2 import PasswordHasher, extract_parameters
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Role, User, UserSession, utcnow
from tests.factories import PASSWORD, csrf_token, make_user, sign_in, submit


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_sign_in_opens_a_server_side_session_and_the_dashboard(client):
    user = make_user()
    response = sign_in(client, user)
    assert response.headers["Location"] == "/dashboard"
    assert client.get("/dashboard").status_code == 200
    assert db.session.scalar(select(UserSession).where(UserSession.user_id == user.id)) is not None
    assert "login.succeeded" in audit_actions()


def test_unknown_email_wrong_password_and_deactivated_account_get_the_same_answer(client):
    active = make_user()
    inactive = make_user(active=False)
    answers = []
    for email_address, password in (
        ("nobody@example.gov", PASSWORD),
        (active.email, "wrong password here"),
        (inactive.email, PASSWORD),
    ):
        response = submit(client, "/auth/login", {"email": email_address, "password": password})
        assert response.status_code == 401
        answers.append(re.sub(r'value="[^"]*"', "", response.get_data(as_text=True)))
    assert answers[0] == answers[1] == answers[2]
    assert "That email and password do not match an active account." in answers[0]
    assert audit_actions().count("login.failed") == 3


def test_the_sixth_wrong_password_in_a_minute_is_refused_even_from_a_new_address(client):
    user = make_user()
    for attempt in range(5):
        response = submit(
            client,
            "/auth/login",
            {"email": user.email, "password": f"wrong guess {attempt}"},
            environ_base={"REMOTE_ADDR": f"10.0.0.{attempt + 1}"},
        )
        assert response.status_code == 401
    sixth = submit(
        client,
        "/auth/login",
        {"email": user.email, "password": PASSWORD},  # even the right password
        environ_base={"REMOTE_ADDR": "192.0.2.77"},
    )
    assert sixth.status_code == 429
    assert "sign-in is paused for this account" in sixth.get_data(as_text=True)
    other = make_user()
    assert sign_in(client, other).status_code == 302  # other accounts are not affected


def test_logout_is_a_post_and_ends_the_session_on_the_server(client, app):
    user = make_user()
    sign_in(client, user)
    assert client.get("/auth/logout").status_code == 405
    cookie = client.get_cookie("session")
    page = client.get("/dashboard")
    response = client.post(
        "/auth/logout", data={"csrf_token": csrf_token(page.get_data(as_text=True))}
    )
    assert response.status_code == 302
    # Replaying the old signed cookie does not bring the session back.
    replay = app.test_client()
    replay.set_cookie("session", cookie.value)
    assert replay.get("/dashboard").status_code == 302
    revoked = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    assert revoked.revoked_at is not None


def test_changing_the_password_signs_out_every_other_session(app):
    user = make_user()
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, user)
    sign_in(phone, user)
    new_password = "a brand new passphrase for me"
    response = submit(
        laptop,
        "/auth/password",
        {"current": PASSWORD, "password": new_password, "confirm": new_password},
    )
    assert response.status_code == 302
    assert laptop.get("/dashboard").status_code == 200
    assert phone.get("/dashboard").status_code == 302


def test_deactivation_ends_the_persons_sessions_at_once(app):
    focal = make_user(Role.FOCAL_POINT)
    learner = make_user()
    learner_client, focal_client = app.test_client(), app.test_client()
    sign_in(learner_client, learner)
    sign_in(focal_client, focal)
    response = submit(
        focal_client,
        f"/focal/people/{learner.id}",
        {},
        post_url=f"/focal/people/{learner.id}/deactivate",
    )
    assert response.status_code == 302
    assert learner_client.get("/dashboard").status_code == 302
    assert (
        submit(
            learner_client, "/auth/login", {"email": learner.email, "password": PASSWORD}
        ).status_code
        == 401
    )


def test_an_idle_session_and_an_old_session_end(client, app):
    user = make_user()
    sign_in(client, user)
    row = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    row.last_seen_at = utcnow() - timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1)
    db.session.commit()
    assert client.get("/dashboard").status_code == 302

    sign_in(client, user)
    row = db.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id.desc())
    ).first()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/dashboard").status_code == 302


def test_a_new_secret_key_keeps_sessions_signed_with_a_fallback_key_only(client, app):
    user = make_user()
    sign_in(client, user)
    assert client.get("/dashboard").status_code == 200
    old_key = app.secret_key
    app.secret_key = "a new key, the old one kept as a fallback" * 2
    app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    assert client.get("/dashboard").status_code == 200
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert client.get("/dashboard").status_code == 302  # the cookie no longer verifies


def test_a_cookie_verified_once_is_not_verified_again_but_its_age_and_letters_are(
    client, app, monkeypatch
):
    sign_in(client, make_user())
    client.get("/dashboard")  # the page's CSRF token joins the session: the cookie changes
    assert client.get("/dashboard").status_code == 200
    serializer = app.session_interface.get_signing_serializer(app)
    verified = []
    loads = serializer.loads
    monkeypatch.setattr(
        serializer, "loads", lambda *args, **kwargs: verified.append(1) or loads(*args, **kwargs)
    )
    assert client.get("/dashboard").status_code == 200
    assert verified == []  # the same cookie as before: known good

    cookie = client.get_cookie("session").value
    # A letter inside the signature (the last one may carry only padding bits).
    payload, _, signature = cookie.rpartition(".")
    letter = "A" if signature[5] != "A" else "B"
    client.set_cookie("session", f"{payload}.{signature[:5]}{letter}{signature[6:]}")
    assert client.get("/dashboard").status_code == 302  # one letter changed: signed out
    assert verified == [1]
    client.set_cookie("session", cookie)
    assert client.get("/dashboard").status_code == 200

    later = time.time() + app.permanent_session_lifetime.total_seconds() + 5
    monkeypatch.setattr(time, "time", lambda: later)
    assert client.get("/dashboard").status_code == 302  # too old, though verified before


def test_the_session_cookie_is_found_in_a_cookie_header_seen_before_without_parsing_it(
    client, app, monkeypatch
):
    sign_in(client, make_user())
    assert client.get("/dashboard").status_code == 200
    cookie = client.get_cookie("session").value
    browser = app.test_client(use_cookies=False)  # sends exactly the header given

    def dashboard(header: str) -> int:
        return browser.get("/dashboard", headers={"Cookie": header}).status_code

    header = f"theme=dark; session={cookie}; lang=en"
    assert dashboard(header) == 200
    parsed = []
    original = werkzeug.sansio.request.Request.cookies
    monkeypatch.setattr(
        werkzeug.sansio.request.Request,
        "cookies",
        property(lambda request: parsed.append(1) or original.__get__(request)),
    )
    assert dashboard(header) == 200
    assert parsed == []  # the same header: its session cookie is known
    assert dashboard(header.replace("lang=en", "lang=fr")) == 200
    assert parsed == [1]  # a header not seen before is parsed
    assert dashboard(header.replace(f"session={cookie}", f"session={cookie[:-3]}xyz")) == 302
    assert dashboard("theme=dark") == 302


def test_a_page_that_changes_nothing_in_the_session_sets_no_cookie_and_varies_on_it(
    client, imported_course
):
    visitor = client.get("/courses")
    assert "Set-Cookie" not in visitor.headers
    assert "Cookie" in {v.strip() for v in visitor.headers["Vary"].split(",")}
    sign_in(client, make_user())
    client.get("/dashboard")  # the page's CSRF token joins the session: the cookie changes
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert "Set-Cookie" not in page.headers
    assert {v.strip() for v in page.headers["Vary"].split(",")} >= {"Cookie", "Accept-Encoding"}
    logout = client.post("/auth/logout", data={"csrf_token": csrf_token(page.text)})
    assert "session=" in logout.headers["Set-Cookie"]  # a change is still written


def test_signed_in_requests_hash_no_client_identifier_while_session_protection_is_off(
    client, app, monkeypatch
):
    from app.extensions import login_manager

    sign_in(client, make_user())
    hashed = []
    original = login_manager._session_identifier_generator
    monkeypatch.setattr(
        login_manager,
        "_session_identifier_generator",
        lambda: hashed.append(1) or original(),
    )
    assert client.get("/dashboard").status_code == 200
    assert hashed == []
    app.config["SESSION_PROTECTION"] = "basic"  # turned on, Flask-Login's check runs again
    assert client.get("/dashboard").status_code == 200
    assert hashed == [1]


def test_pages_of_a_session_carry_one_csrf_token_signed_once_and_forms_accept_it(
    client, app, monkeypatch
):
    user = make_user()
    sign_in(client, user)  # signing in renews the raw token
    signed = []

    class CountingSerializer(flask_wtf.csrf.URLSafeTimedSerializer):
        def dumps(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            signed.append(1)
            return super().dumps(*args, **kwargs)

    monkeypatch.setattr(flask_wtf.csrf, "URLSafeTimedSerializer", CountingSerializer)
    tokens = {csrf_token(client.get(path).get_data(as_text=True))
              for path in ("/dashboard", "/courses", "/auth/profile", "/dashboard",
                           "/courses/format-tour")}  # fmt: skip
    assert len(tokens) == 1
    # Once for the session, not once a page, nor once more on the page after the first (a
    # second later, that one would carry another timestamp).
    assert len(signed) == 1
    other = app.test_client()
    sign_in(other, make_user())
    assert csrf_token(other.get("/dashboard").get_data(as_text=True)) not in tokens
    assert client.post("/auth/logout", data={"csrf_token": tokens.pop()}).status_code == 302
    assert client.get("/dashboard").status_code == 302  # the form was accepted: signed out


def test_a_session_is_not_rewritten_when_the_browser_or_address_changes(client):
    """Sessions are revoked on the server; Flask-Login's session protection, which would mark
    the cookie not fresh (and send it again) on another address or browser, is off."""
    sign_in(client, make_user())
    client.get("/dashboard")  # the page's CSRF token joins the session
    assert "Set-Cookie" not in client.get("/dashboard").headers
    moved = client.get(
        "/dashboard",
        headers={"User-Agent": "Another browser/2.0"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert moved.status_code == 200
    assert "Set-Cookie" not in moved.headers


def test_signed_in_pages_are_never_cached_and_cookies_are_httponly_lax(client, app):
    user = make_user()
    response = sign_in(client, user, remember="y")
    cookies = response.headers.getlist("Set-Cookie")
    assert all("HttpOnly" in c and "SameSite=Lax" in c for c in cookies), cookies
    assert any(c.startswith("remember_token=") for c in cookies)
    assert client.get("/dashboard").headers["Cache-Control"] == "no-store"
    assert client.get("/courses").headers["Cache-Control"] == "no-store"
    visitor_page = app.test_client().get("/courses")
    assert "no-store" not in visitor_page.headers.get("Cache-Control", "")


def test_next_only_leads_within_the_site(client):
    user = make_user()
    client.get("/auth/login?next=https://evil.example/steal")
    assert sign_in(client, user).headers["Location"] == "/dashboard"
    client.post(
        "/auth/logout",
        data={"csrf_token": csrf_token(client.get("/dashboard").get_data(as_text=True))},
    )
    client.get("/auth/login?next=/auth/profile")
    assert sign_in(client, user).headers["Location"] == "/auth/profile"


def test_forms_without_a_csrf_token_are_refused(client):
    user = make_user()
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400


def read_outbox(app) -> list[email.message.Message]:
    outbox = Path(app.instance_path) / "outbox"
    return [email.message_from_bytes(p.read_bytes()) for p in sorted(outbox.glob("*.eml"))]


def link_in(message: email.message.Message) -> str:
    body = message.get_payload(decode=True).decode()
    return re.search(r"http://localhost(/\S+)", body).group(1)


def test_password_reset_link_works_once_and_the_form_reveals_nothing(client, app):
    user = make_user()
    known = submit(client, "/auth/reset", {"email": user.email})
    unknown = submit(client, "/auth/reset", {"email": "nobody@example.gov"})

    def strip(r):
        return r.get_data(as_text=True).replace(user.email, "X").replace("nobody@example.gov", "X")

    assert known.status_code == unknown.status_code == 200
    assert strip(known) == strip(unknown)
    [message] = read_outbox(app)
    assert message["To"] == user.email
    link = link_in(message)
    new_password = "my fresh and long passphrase"
    response = submit(client, link, {"password": new_password, "confirm": new_password})
    assert response.status_code == 302
    assert client.get(link).status_code == 410  # single use
    assert sign_in(client, user, new_password).status_code == 302


def test_forged_or_expired_reset_links_change_nothing(client, app):
    user = make_user()
    assert client.get("/auth/reset/forged-token").status_code == 410
    from app.services.accounts import reset_token

    token = reset_token(user, app.config["SECRET_KEY"])
    app.config["PASSWORD_RESET_MINUTES"] = -1
    assert client.get(f"/auth/reset/{token}").status_code == 410
    assert sign_in(client, user).status_code == 302


def test_weak_passwords_are_refused_with_reasons(client):
    user = make_user()
    sign_in(client, user)
    response = submit(
        client,
        "/auth/password",
        {"current": PASSWORD, "password": "password123", "confirm": "password123"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "12 characters" in html


def test_email_change_happens_only_when_the_new_address_confirms(client, app):
    user = make_user()
    sign_in(client, user)
    response = submit(
        client,
        "/auth/profile",
        {"email": "new.address@example.gov", "password": PASSWORD},
        post_url="/auth/email",
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.email != "new.address@example.gov"
    [message] = read_outbox(app)
    assert message["To"] == "new.address@example.gov"
    assert client.get(link_in(message)).status_code == 302
    db.session.refresh(user)
    assert user.email == "new.address@example.gov"
    assert client.get(link_in(message)).status_code == 410


def test_profile_keeps_names_in_any_script(client):
    user = make_user()
    sign_in(client, user)
    for name in ("สมชาย ใจดี", "রহিম উদ্দিন", "Nguyễn Thị Hồng", "محمد علی"):
        submit(client, "/auth/profile", {"display_name": name, "language": "th"})
        db.session.refresh(user)
        assert user.display_name == name


def test_two_factor_sign_in_with_a_code_and_a_single_use_recovery_code(app):
    user = make_user()
    client = app.test_client()
    sign_in(client, user)
    page = client.get("/auth/two-factor").get_data(as_text=True)
    secret = re.search(r"<code>([A-Z2-7]+)</code>", page).group(1)
    response = client.post(
        "/auth/two-factor",
        data={"csrf_token": csrf_token(page), "code": pyotp.TOTP(secret).now()},
    )
    codes = re.findall(r"<li>([a-z2-9]{5}-[a-z2-9]{5})</li>", response.get_data(as_text=True))
    assert len(codes) == 10
    other = app.test_client()
    first = submit(other, "/auth/login", {"email": user.email, "password": PASSWORD})
    assert first.headers["Location"] == "/auth/login/code"
    assert other.get("/dashboard").status_code == 302  # not signed in before the second step
    assert submit(other, "/auth/login/code", {"code": "000000"}).status_code == 401
    assert submit(other, "/auth/login/code", {"code": codes[0]}).status_code == 302
    assert other.get("/dashboard").status_code == 200
    again = app.test_client()
    submit(again, "/auth/login", {"email": user.email, "password": PASSWORD})
    assert submit(again, "/auth/login/code", {"code": codes[0]}).status_code == 401


def test_staff_must_set_up_two_factor_when_it_is_required(client, app):
    app.config["REQUIRE_2FA_FOR_STAFF"] = True
    focal = make_user(Role.FOCAL_POINT)
    sign_in(client, focal)
    response = client.get("/focal/")
    assert response.status_code == 302 and response.headers["Location"] == "/auth/two-factor"
    learner = make_user()
    learner_client = app.test_client()
    sign_in(learner_client, learner)
    assert learner_client.get("/dashboard").status_code == 200


def test_self_registration_waits_for_the_focal_points_approval(client, app):
    app.config["ACCOUNT_MODE"] = "registration"
    focal = make_user(Role.FOCAL_POINT, country="TH", name="Focal TH")
    country_id = focal.country_id
    password = "a long enough passphrase"
    response = submit(
        client,
        "/auth/register",
        {
            "display_name": "สมหญิง",
            "email": "somying@example.go.th",
            "country": str(country_id),
            "password": password,
            "confirm": password,
        },
    )
    assert response.status_code == 200 and "Thank you" in response.get_data(as_text=True)
    person = db.session.scalar(select(User).where(User.email == "somying@example.go.th"))
    assert person.pending_approval
    assert (
        submit(client, "/auth/login", {"email": person.email, "password": password}).status_code
        == 401
    )
    focal_client = app.test_client()
    sign_in(focal_client, focal)
    submit(
        focal_client,
        f"/focal/people/{person.id}",
        {},
        post_url=f"/focal/people/{person.id}/approve",
    )
    assert (
        submit(client, "/auth/login", {"email": person.email, "password": password}).status_code
        == 302
    )


def test_registration_is_closed_by_default(client):
    assert client.get("/auth/register").status_code == 404


def test_registration_from_an_approved_government_domain_needs_no_approval(client, app):
    app.config.update(ACCOUNT_MODE="registration", AUTO_APPROVE_DOMAINS=["example.go.th"])
    country = make_user(Role.FOCAL_POINT, country="TH").country_id
    password = "a long enough passphrase"
    fields = {"display_name": "Anan", "country": str(country), "password": password}
    submit(client, "/auth/register", {**fields, "email": "anan@example.go.th", "confirm": password})
    response = submit(client, "/auth/login", {"email": "anan@example.go.th", "password": password})
    assert response.status_code == 302


def test_login_limits_hold_in_redis_shared_by_every_app_server(tmp_path):
    """With RATELIMIT_STORAGE_URI pointing at Redis, two app instances share the count."""
    import os
    import uuid

    import pytest
    import redis

    from app import create_app
    from app.extensions import limiter
    from tests.conftest import RequestIsolatedClient, make_config

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url).ping()
    except redis.ConnectionError:
        if os.environ.get("CI", "").lower() == "true":
            raise
        pytest.skip(f"no Redis at {url}")
    prefix = f"test-{uuid.uuid4().hex}"
    config = make_config(
        f"sqlite:///{tmp_path / 'shared.sqlite3'}",
        RATELIMIT_STORAGE_URI=url,
        RATELIMIT_KEY_PREFIX=prefix,
    )
    servers = [create_app(config), create_app(config)]
    for server in servers:
        server.test_client_class = RequestIsolatedClient
    with servers[0].app_context():
        db.create_all()
        user = make_user()
        limiter.reset()
        for attempt in range(5):
            client = servers[attempt % 2].test_client()
            wrong = {"email": user.email, "password": f"wrong {attempt}"}
            assert submit(client, "/auth/login", wrong).status_code == 401
        sixth = submit(
            servers[1].test_client(), "/auth/login", {"email": user.email, "password": PASSWORD}
        )
        assert sixth.status_code == 429
        store = redis.Redis.from_url(url)
        keys = store.keys(f"*{prefix}*")
        assert keys, "the counts must live in Redis"
        store.delete(*keys)
        db.engine.dispose()


def test_a_hash_made_with_other_parameters_is_renewed_at_sign_in(client):
    user = make_user()
    # argon2-cffi's default (RFC 9106 low-memory: 64 MiB, 4 lanes), the portal's earlier choice.
    user.password_hash = PasswordHasher().hash(PASSWORD)
    db.session.commit()
    assert extract_parameters(user.password_hash).memory_cost == 64 * 1024
    sign_in(client, user)
    db.session.refresh(user)
    renewed = extract_parameters(user.password_hash)
    assert (renewed.memory_cost, renewed.time_cost, renewed.parallelism) == (46 * 1024, 3, 1)
    client.post("/auth/logout", data={"csrf_token": csrf_token(client.get("/dashboard").text)})
    assert sign_in(client, user).status_code == 302  # the renewed hash verifies


def test_the_renewed_hash_is_kept_when_a_second_step_follows(app):
    user = make_user()
    user.totp_secret = pyotp.random_base32()
    user.totp_enabled_at = utcnow()
    user.password_hash = PasswordHasher().hash(PASSWORD)
    db.session.commit()
    answer = submit(app.test_client(), "/auth/login", {"email": user.email, "password": PASSWORD})
    assert answer.headers["Location"] == "/auth/login/code"
    db.session.refresh(user)
    assert extract_parameters(user.password_hash).memory_cost == 46 * 1024
