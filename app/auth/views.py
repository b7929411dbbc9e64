"""Sign in and out, two-factor, passwords, profile, invitations and registration."""

from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter.errors import RateLimitExceeded
from flask_login import current_user, login_required, login_user, logout_user

from app.auth.forms import (
    AcceptInvitationForm,
    ChangePasswordForm,
    EmailChangeForm,
    LoginForm,
    NewPasswordForm,
    ProfileForm,
    RegistrationForm,
    ResetRequestForm,
    TwoFactorForm,
    TwoFactorSetupForm,
)
from app.auth.session import session_policy
from app.extensions import db, limiter
from app.models import Role, User
from app.services import accounts, audit, countries, invitations, two_factor
from app.services.accounts import InvalidToken, PasswordRefused
from app.services.errors import DomainError
from app.services.passwords import hash_password, password_problems, verify_password
from app.web import client_ip, options, safe_next, send_templated_mail, writes_on_get

bp = Blueprint("auth", __name__, url_prefix="/auth")
invitations_bp = Blueprint("invitations", __name__, url_prefix="/invitations")

PENDING_2FA = "pending_2fa"


def _account_key() -> str:
    return "login-account:" + accounts.normalise_email(request.form.get("email", ""))


def _failed_login(response) -> bool:  # noqa: ANN001
    return response.status_code == 401


def _account_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ACCOUNT"]


def _address_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ADDRESS"]


def _complete_login(user: User, *, remember: bool):
    """Open a fresh server-side session for the user and send them on."""
    next_url = session.get("next")
    session.clear()  # a new session at every sign-in: nothing carries over from before
    accounts.start_session(
        db.session,
        user,
        remember=remember,
        policy=session_policy(),
        ip_address=client_ip(),
        user_agent=request.headers.get("User-Agent"),
    )
    db.session.commit()
    login_user(user, remember=remember)
    return redirect(safe_next(next_url, url_for("learn.dashboard")))


@bp.errorhandler(RateLimitExceeded)
def too_many_attempts(error: RateLimitExceeded):
    audit.record(db.session, "login.throttled", ip_address=client_ip(), limit=str(error.limit))
    db.session.commit()
    form = LoginForm()
    message = (
        "Too many failed sign-in attempts. For your security, sign-in is paused for this "
        "account for a few minutes. Please wait, then try again, or reset your password."
    )
    return render_template("auth/login.html", form=form, error=message), 429


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_address_limit, methods=["POST"], deduct_when=_failed_login)
@limiter.limit(_account_limit, key_func=_account_key, methods=["POST"], deduct_when=_failed_login)
def login():
    """Sign in with email and password; then the second factor when the person has one."""
    if current_user.is_authenticated:
        return redirect(url_for("learn.dashboard"))
    form = LoginForm()
    if request.method == "GET" and request.args.get("next"):
        session["next"] = safe_next(request.args["next"], "")
    if form.validate_on_submit():
        user = accounts.authenticate(db.session, form.email.data, form.password.data)
        if user is None:
            known = accounts.find_user_by_email(db.session, form.email.data)
            audit.record(
                db.session,
                "login.failed",
                target=known,
                ip_address=client_ip(),
                email=accounts.normalise_email(form.email.data)[:254],
            )
            db.session.commit()
            # One answer for an unknown email, a wrong password and a deactivated account.
            error = "That email and password do not match an active account."
            return render_template("auth/login.html", form=form, error=error), 401
        if user.has_two_factor:
            db.session.commit()  # a password hash renewed by authenticate() is kept
            session[PENDING_2FA] = {"user": user.id, "remember": bool(form.remember.data)}
            return redirect(url_for("auth.login_second_factor"))
        return _complete_login(user, remember=bool(form.remember.data))
    return render_template("auth/login.html", form=form)


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"], deduct_when=_failed_login)
def login_second_factor():
    """The second step of signing in: a TOTP code or a recovery code."""
    pending = session.get(PENDING_2FA)
    user = db.session.get(User, pending["user"]) if pending else None
    if user is None or not user.is_active or not user.has_two_factor:
        return redirect(url_for("auth.login"))
    form = TwoFactorForm()
    if form.validate_on_submit():
        step = two_factor.verify_code(
            user.totp_secret, form.code.data, last_used_step=user.totp_last_step
        )
        remaining = (
            None
            if step is not None
            else two_factor.use_recovery_code(user.recovery_code_hashes, form.code.data)
        )
        if step is not None or remaining is not None:
            if step is not None:
                user.totp_last_step = step
            else:
                user.recovery_code_hashes = remaining
                audit.record(db.session, "two_factor.recovery_code_used", actor=user, target=user)
            return _complete_login(user, remember=pending["remember"])
        audit.record(db.session, "login.failed_second_factor", target=user, ip_address=client_ip())
        db.session.commit()
        return render_template(
            "auth/second_factor.html", form=form, error="That code is not valid. Try again."
        ), 401
    return render_template("auth/second_factor.html", form=form)


@bp.post("/logout")
def logout():
    """Sign out: the server-side session ends, whatever happens to the cookie."""
    if current_user.is_authenticated:
        accounts.end_session(db.session, current_user.session_token)
        audit.record(db.session, "logout", actor=current_user, target=current_user)
        db.session.commit()
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("learn.home"))


@bp.route("/two-factor", methods=["GET", "POST"])
@login_required
def two_factor_setup():
    """Turn on two-factor sign-in: scan the QR code, confirm one code, keep the recovery codes."""
    user = current_user
    secret = session.get("new_totp_secret") or two_factor.new_secret()
    session["new_totp_secret"] = secret
    form = TwoFactorSetupForm()
    if form.validate_on_submit():
        step = two_factor.verify_code(secret, form.code.data, last_used_step=None)
        if step is None:
            form.code.errors.append("That code does not match. Check the time on your phone.")
        else:
            codes, hashes = two_factor.new_recovery_codes()
            user.totp_secret = secret
            user.totp_last_step = step
            user.totp_enabled_at = accounts.utcnow()
            user.recovery_code_hashes = hashes
            audit.record(db.session, "two_factor.enabled", actor=user, target=user)
            db.session.commit()
            session.pop("new_totp_secret", None)
            return render_template("auth/recovery_codes.html", codes=codes)
    uri = two_factor.provisioning_uri(secret, user.email)
    return render_template(
        "auth/two_factor_setup.html",
        form=form,
        qr=two_factor.qr_svg_data_uri(uri),
        secret=secret,
        required=user.is_staff and current_app.config["REQUIRE_2FA_FOR_STAFF"],
    )


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change the password; every other session of this person ends."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not verify_password(current_user.password_hash, form.current.data):
            form.current.errors.append("This is not your current password.")
        else:
            try:
                accounts.set_password(
                    db.session,
                    current_user,
                    form.password.data,
                    keep_token=current_user.session_token,
                )
            except PasswordRefused as refused:
                form.password.errors.extend(refused.problems)
            else:
                db.session.commit()
                flash("Your password is changed. Other devices have been signed out.", "success")
                return redirect(url_for("auth.profile"))
    return render_template("auth/change_password.html", form=form)


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit("5 per minute;30 per hour", methods=["POST"])
def reset_request():
    """Ask for a reset link. The answer is the same whether or not the address has an account."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        user = accounts.find_user_by_email(db.session, form.email.data)
        if user is not None and user.is_active:
            token = accounts.reset_token(user, current_app.config["SECRET_KEY"])
            send_templated_mail(
                to=user.email,
                subject="Reset your RSO Learning Portal password",
                template="password_reset",
                purpose="password_reset",
                related_id=user.id,
                link=url_for("auth.reset_password", token=token, _external=True),
                minutes=current_app.config["PASSWORD_RESET_MINUTES"],
                name=user.display_name,
            )
        return render_template("auth/reset_sent.html", email=form.email.data)
    return render_template("auth/reset_request.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password from an emailed link; the link works once."""
    max_age = timedelta(minutes=current_app.config["PASSWORD_RESET_MINUTES"])
    try:
        user = accounts.user_for_reset_token(
            db.session, token, current_app.config["SECRET_KEY"], max_age=max_age
        )
    except InvalidToken as error:
        return render_template("auth/link_problem.html", message=str(error)), 410
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.set_password(db.session, user, form.password.data)
        except PasswordRefused as refused:
            form.password.errors.extend(refused.problems)
        else:
            audit.record(
                db.session, "password.reset", actor=user, target=user, ip_address=client_ip()
            )
            db.session.commit()
            flash("Your password is changed. Please sign in.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    """Name (any script) and preferred language."""
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        accounts.update_profile(
            db.session,
            current_user,
            display_name=form.display_name.data,
            language=form.language.data,
        )
        db.session.commit()
        flash("Your profile is saved.", "success")
        return redirect(url_for("auth.profile"))
    return render_template("auth/profile.html", form=form, email_form=EmailChangeForm())


@bp.post("/email")
@login_required
@limiter.limit("5 per hour")
def request_email_change():
    """Send a confirmation link to the new address; nothing changes until it is followed."""
    form = EmailChangeForm()
    if form.validate_on_submit():
        if not verify_password(current_user.password_hash, form.password.data):
            form.password.errors.append("This is not your current password.")
        else:
            new_email = accounts.normalise_email(form.email.data)
            # The same answer whether or not the address is taken; confirmation re-checks.
            if accounts.find_user_by_email(db.session, new_email) is None:
                token = accounts.email_change_token(
                    current_user, new_email, current_app.config["SECRET_KEY"]
                )
                send_templated_mail(
                    to=new_email,
                    subject="Confirm your new email address",
                    template="email_change",
                    purpose="email_change",
                    related_id=current_user.id,
                    link=url_for("auth.confirm_email", token=token, _external=True),
                    name=current_user.display_name,
                )
            flash(f"We sent a confirmation link to {new_email}. Follow it to finish.", "info")
            return redirect(url_for("auth.profile"))
    return render_template(
        "auth/profile.html", form=ProfileForm(obj=current_user), email_form=form
    ), 400


@bp.get("/email/<token>")
@writes_on_get
def confirm_email(token: str):
    try:
        accounts.confirm_email_change(
            db.session, token, current_app.config["SECRET_KEY"], max_age=timedelta(days=1)
        )
    except InvalidToken as error:
        return render_template("auth/link_problem.html", message=str(error)), 410
    db.session.commit()
    flash("Your email address is changed.", "success")
    return redirect(url_for("auth.profile"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def register():
    """Self-registration, when the portal is configured for it; the focal point approves."""
    if current_app.config["ACCOUNT_MODE"] != "registration":
        abort(404)
    form = RegistrationForm()
    form.country.choices = options([(c.id, c.name) for c in countries.active_countries(db.session)])
    if form.validate_on_submit():
        email = accounts.normalise_email(form.email.data)
        problems = password_problems(
            form.password.data, email=email, display_name=form.display_name.data
        )
        if problems:
            form.password.errors.extend(problems)
        else:
            if accounts.find_user_by_email(db.session, email) is None:
                domain = email.rsplit("@", 1)[-1]
                approved = domain in current_app.config["AUTO_APPROVE_DOMAINS"]
                user = User(
                    email=email,
                    display_name=form.display_name.data.strip(),
                    country_id=form.country.data,
                    role=Role.LEARNER.value,
                    password_hash=hash_password(form.password.data),
                    pending_approval=not approved,
                )
                db.session.add(user)
                db.session.flush()
                audit.record(
                    db.session, "registration.created", actor=user, target=user, approved=approved
                )
                db.session.commit()
            # Identical answer for a taken address: the form tells no one who has an account.
            return render_template("auth/registered.html")
    return render_template("auth/register.html", form=form)


@invitations_bp.route("/<token>", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def accept(token: str):
    """Accept an invitation: choose a name and a password, and find the courses waiting."""
    try:
        invitation = invitations.find_open_invitation(db.session, token)
    except invitations.InvitationUnavailable as error:
        return render_template("auth/link_problem.html", message=str(error)), 410
    form = AcceptInvitationForm()
    if request.method == "GET":
        form.display_name.data = invitation.display_name
    if form.validate_on_submit():
        try:
            accepted = invitations.accept(
                db.session, token, display_name=form.display_name.data, password=form.password.data
            )
        except PasswordRefused as refused:
            form.password.errors.extend(refused.problems)
        except DomainError as error:
            db.session.rollback()
            return render_template("auth/link_problem.html", message=str(error)), 410
        else:
            db.session.commit()
            flash("Welcome. Your account is ready.", "success")
            return _complete_login(accepted.user, remember=False)
    return render_template("auth/accept_invitation.html", form=form, invitation=invitation)
