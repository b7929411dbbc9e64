"""Users, countries and the audit log. Admins only."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from app import policy
from app.admin.forms import CountryForm, RenameCountryForm, RevokeForm, RoleForm
from app.extensions import certificate_authority, db
from app.focal.forms import ActionForm
from app.focal.views import ROLE_LABELS
from app.models import REVOCATION_LABELS, AuditEvent, Certificate, Country, Role, User, utcnow
from app.services import accounts, certificate_codes, certificates, countries, reports
from app.services.errors import DomainError
from app.web import options

bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE_SIZE = 50


@bp.before_request
@login_required
def admins_only():
    if not policy.can_administer(current_user):
        abort(403)


def user_or_404(user_id: int) -> User:
    found = db.session.get(User, user_id)
    if found is None:
        abort(404)
    return found


def country_or_404(country_id: int) -> Country:
    found = db.session.get(Country, country_id)
    if found is None:
        abort(404)
    return found


@bp.get("/users")
def users():
    """Everyone, searchable by name or email, filterable by role and country."""
    search = request.args.get("q", "").strip()
    role = request.args.get("role", "")
    country_id = request.args.get("country", type=int)
    page = max(request.args.get("page", 1, type=int), 1)
    statement = select(User)
    if search:
        pattern = f"%{search.lower()}%"
        statement = statement.where(
            or_(func.lower(User.display_name).like(pattern), User.email.like(pattern))
        )
    if role in {r.value for r in Role}:
        statement = statement.where(User.role == role)
    if country_id:
        statement = statement.where(User.country_id == country_id)
    total = db.session.scalar(select(func.count()).select_from(statement.subquery()))
    people = db.session.scalars(
        statement.order_by(func.lower(User.display_name), User.id)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    return render_template(
        "admin/users.html",
        people=people,
        total=total,
        page=page,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        search=search,
        role=role,
        country_id=country_id,
        countries=countries.active_countries(db.session),
        role_labels=ROLE_LABELS,
    )


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user(user_id: int):
    """Change a person's role and country; deactivate from the focal point page."""
    found = user_or_404(user_id)
    form = RoleForm(role=found.role, country=found.country_id or 0)
    form.country.choices = options(
        [(0, "— none —")] + [(c.id, c.name) for c in countries.active_countries(db.session)]
    )
    if form.validate_on_submit():
        if found.id == current_user.id:
            flash("You cannot change your own role.", "error")
        else:
            country = db.session.get(Country, form.country.data) if form.country.data else None
            try:
                accounts.change_role(
                    db.session, found, role=form.role.data, country=country, by=current_user
                )
            except DomainError as error:
                form.country.errors.append(str(error))
            else:
                db.session.commit()
                flash(f"{found.display_name} is now {ROLE_LABELS[found.role].lower()}.", "success")
                return redirect(url_for("admin.user", user_id=found.id))
    return render_template(
        "admin/user.html",
        person=found,
        form=form,
        action_form=ActionForm(),
        role_labels=ROLE_LABELS,
    )


@bp.route("/countries", methods=["GET", "POST"])
def country_list():
    """Countries with their focal points and number of people; add a country."""
    form = CountryForm()
    if form.validate_on_submit():
        try:
            countries.add_country(
                db.session,
                name=form.name.data,
                code=form.code.data,
                code3=form.code3.data,
                by=current_user,
            )
        except DomainError as error:
            form.code.errors.append(str(error))
        else:
            db.session.commit()
            flash(f"{form.name.data} is added.", "success")
            return redirect(url_for("admin.country_list"))
    all_countries = db.session.scalars(select(Country).order_by(Country.name)).all()
    focal_points: dict[int, list[User]] = {}
    for person in db.session.scalars(
        select(User).where(User.role == Role.FOCAL_POINT.value).order_by(User.display_name)
    ):
        focal_points.setdefault(person.country_id, []).append(person)
    return render_template(
        "admin/countries.html",
        countries=all_countries,
        focal_points=focal_points,
        people=countries.people_per_country(db.session),
        form=form,
    )


@bp.route("/countries/<int:country_id>", methods=["GET", "POST"])
def country(country_id: int):
    found = country_or_404(country_id)
    form = RenameCountryForm(name=found.name)
    if form.validate_on_submit():
        try:
            countries.rename_country(db.session, found, name=form.name.data, by=current_user)
        except DomainError as error:
            form.name.errors.append(str(error))
        else:
            db.session.commit()
            flash("The country is renamed.", "success")
            return redirect(url_for("admin.country_list"))
    focal = db.session.scalars(
        select(User).where(User.country_id == found.id, User.role == Role.FOCAL_POINT.value)
    ).all()
    return render_template("admin/country.html", country=found, form=form, focal_points=focal)


@bp.get("/audit")
def audit_log():
    """The audit log, newest first, filtered by action, person, country and dates."""
    action = request.args.get("action", "").strip()
    actor = request.args.get("actor", "").strip().lower()
    country_id = request.args.get("country", type=int)
    since = _date_arg("from")
    until = _date_arg("to")
    page = max(request.args.get("page", 1, type=int), 1)
    statement = select(AuditEvent)
    if action:
        statement = statement.where(AuditEvent.action.like(f"{action}%"))
    if actor:
        statement = statement.where(
            AuditEvent.actor_id.in_(select(User.id).where(User.email.like(f"%{actor}%")))
        )
    if country_id:
        statement = statement.where(AuditEvent.country_id == country_id)
    if since:
        statement = statement.where(
            AuditEvent.occurred_at >= datetime.combine(since, time.min, tzinfo=UTC)
        )
    if until:
        statement = statement.where(
            AuditEvent.occurred_at
            < datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC)
        )
    events = db.session.scalars(
        statement.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(PAGE_SIZE + 1)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    actor_ids = {event.actor_id for event in events if event.actor_id}
    actors = {
        person.id: person
        for person in db.session.scalars(select(User).where(User.id.in_(actor_ids)))
    }
    return render_template(
        "admin/audit.html",
        events=events[:PAGE_SIZE],
        has_more=len(events) > PAGE_SIZE,
        page=page,
        actors=actors,
        countries=countries.active_countries(db.session),
        filters={
            "action": action,
            "actor": actor,
            "country": country_id,
            "from": since,
            "to": until,
        },
        page_url=lambda number: url_for(
            "admin.audit_log", **{**request.args.to_dict(), "page": number}
        ),
    )


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


# --- analytics --------------------------------------------------------------------------
# (Imported here, with the route it serves, rather than at the top of the module.)


@bp.get("/analytics")
def analytics():
    """Completions per course and per country over 12 months; questions, weakest first."""
    completions = reports.completions_by_month(db.session, today=utcnow().date())
    return render_template(
        "admin/analytics.html",
        completions=completions,
        month_label=reports.month_label,
        questions=reports.question_statistics(db.session),
        review_below=reports.REVIEW_BELOW,
    )


def certificate_or_404(certificate_id: int) -> Certificate:
    found = db.session.get(Certificate, certificate_id)
    if found is None:
        abort(404)
    return found


@bp.get("/certificates")
def certificate_search():
    """Find a certificate by code or by the learner's name or email."""
    search = request.args.get("q", "").strip()
    statement = (
        select(Certificate)
        .join(User, User.id == Certificate.user_id)
        .order_by(Certificate.issued_at.desc())
    )
    if search:
        code, _ = certificate_codes.parse(search)
        pattern = f"%{search.lower()}%"
        statement = statement.where(
            or_(
                Certificate.code == (code or search.upper()),
                func.lower(Certificate.learner_name).like(pattern),
                User.email.like(pattern),
            )
        )
    return render_template(
        "admin/certificates.html",
        rows=db.session.scalars(statement.limit(PAGE_SIZE)).all(),
        search=search,
        now=utcnow(),
    )


@bp.get("/certificates/<int:certificate_id>")
def certificate(certificate_id: int):
    found = certificate_or_404(certificate_id)
    return render_template(
        "admin/certificate.html",
        certificate=found,
        form=RevokeForm(),
        action_form=ActionForm(),
        reasons=REVOCATION_LABELS,
        now=utcnow(),
    )


@bp.post("/certificates/<int:certificate_id>/revoke")
def revoke_certificate(certificate_id: int):
    """Revoke with a reason: every check shows it at once; the record is kept."""
    found = certificate_or_404(certificate_id)
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            certificates.revoke(db.session, found, reason=form.reason.data, by=current_user)
        except DomainError as error:
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(f"Certificate {found.code} is revoked.", "success")
    return redirect(url_for("admin.certificate", certificate_id=found.id))


@bp.post("/certificates/<int:certificate_id>/reissue")
def reissue_certificate(certificate_id: int):
    """A new certificate (new code, the learner's current name) replacing this one."""
    found = certificate_or_404(certificate_id)
    if ActionForm().validate_on_submit():
        try:
            replacement = certificate_authority.reissue(db.session, found, by=current_user)
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(f"Reissued as {replacement.code}; {found.code} is revoked.", "success")
            return redirect(url_for("admin.certificate", certificate_id=replacement.id))
    return redirect(url_for("admin.certificate", certificate_id=found.id))
