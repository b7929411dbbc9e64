"""Staff roster, invitations (one by one or from CSV) and enrolment, scoped to one country.

Admins use the same pages for any country. Every object loaded by id goes through a loader
that answers 404 for what the person may not know exists.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from app import policy
from app.extensions import db
from app.focal.forms import ActionForm, ConfirmUploadForm, EnrolForm, InviteForm, UploadForm
from app.models import (
    Certificate,
    Country,
    Course,
    CourseVersion,
    Enrollment,
    Invitation,
    OutgoingMail,
    Role,
    User,
    utcnow,
)
from app.services import accounts, enrolment, invitation_csv, invitations, mail, reports
from app.services.errors import DomainError
from app.web import MailItem, mail_settings, options, send_templated_mails

bp = Blueprint("focal", __name__, url_prefix="/focal")
PAGE_SIZE = 25
ROLE_LABELS = {"learner": "Learner", "focal_point": "Focal point", "admin": "Administrator"}


@bp.before_request
@login_required
def staff_only():
    if not policy.can_manage_staff(current_user):
        abort(403)


# --- loaders: 404 for what the person may not know exists ------------------------------


def person_or_404(user_id: int, *, manage: bool = False) -> User:
    person = db.session.get(User, user_id)
    if person is None or not policy.can_see_person(current_user, person):
        abort(404)
    if manage and not policy.can_manage_person(current_user, person):
        abort(403)
    return person


def invitation_or_404(invitation_id: int) -> Invitation:
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or not policy.can_see_invitation(current_user, invitation):
        abort(404)
    return invitation


def enrollment_or_404(enrollment_id: int) -> Enrollment:
    found = db.session.get(Enrollment, enrollment_id)
    learner = db.session.get(User, found.user_id) if found is not None else None
    if learner is None or not policy.can_manage_person(current_user, learner):
        abort(404)
    return found


# --- choices ----------------------------------------------------------------------------


def country_choices() -> list[tuple[int, str]]:
    statement = select(Country).where(Country.is_active).order_by(Country.name)
    if not policy.is_admin(current_user):
        statement = statement.where(Country.id == current_user.country_id)
    return [(country.id, country.name) for country in db.session.scalars(statement)]


def course_choices() -> list[tuple[str, str]]:
    rows = db.session.execute(
        select(Course.slug, CourseVersion.title)
        .join(CourseVersion, Course.published_version_id == CourseVersion.id)
        .where(Course.archived_at.is_(None))
        .order_by(CourseVersion.title)
    )
    return [(slug, title) for slug, title in rows]


def selected_country_id() -> int | None:
    """The country the page is about: the focal point's own, or the admin's choice (or all)."""
    if policy.is_admin(current_user):
        return request.args.get("country", type=int)
    return current_user.country_id


# --- roster -----------------------------------------------------------------------------


@bp.get("/")
def roster():
    """The country's staff: search, filter by course and status, pages of 25."""
    search = request.args.get("q", "").strip()
    course_slug = request.args.get("course", "")
    status = request.args.get("status", "")
    page = max(request.args.get("page", 1, type=int), 1)
    statement = policy.scope_people(current_user, select(User))
    country_id = selected_country_id()
    if country_id:
        statement = statement.where(User.country_id == country_id)
    if search:
        pattern = f"%{search.lower()}%"
        statement = statement.where(
            or_(func.lower(User.display_name).like(pattern), User.email.like(pattern))
        )
    if status == "active":
        statement = statement.where(User.is_active, User.pending_approval.is_(False))
    elif status == "deactivated":
        statement = statement.where(User.is_active.is_(False))
    elif status == "pending":
        statement = statement.where(User.pending_approval)
    if course_slug:
        statement = statement.where(
            User.id.in_(
                select(Enrollment.user_id)
                .join(Course, Course.id == Enrollment.course_id)
                .where(Course.slug == course_slug, Enrollment.unenrolled_at.is_(None))
            )
        )
    total = db.session.scalar(select(func.count()).select_from(statement.subquery()))
    people = db.session.scalars(
        statement.order_by(func.lower(User.display_name), User.id)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    counts = dict(
        db.session.execute(
            select(Enrollment.user_id, func.count())
            .where(
                Enrollment.user_id.in_([p.id for p in people]), Enrollment.unenrolled_at.is_(None)
            )
            .group_by(Enrollment.user_id)
        ).all()
    )
    return render_template(
        "focal/roster.html",
        people=people,
        counts=counts,
        total=total,
        page=page,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        search=search,
        course_slug=course_slug,
        status=status,
        courses=course_choices(),
        countries=country_choices() if policy.is_admin(current_user) else [],
        country_id=country_id,
        action_form=ActionForm(),
        role_labels=ROLE_LABELS,
    )


@bp.get("/people/<int:user_id>")
def person(user_id: int):
    """One person: their details and enrolments."""
    found = person_or_404(user_id)
    rows = db.session.execute(
        select(Enrollment, CourseVersion.title)
        .join(Course, Course.id == Enrollment.course_id)
        .join(CourseVersion, Course.published_version_id == CourseVersion.id)
        .where(Enrollment.user_id == found.id)
        .order_by(Enrollment.enrolled_at)
    ).all()
    return render_template(
        "focal/person.html",
        person=found,
        enrolments=rows,
        can_manage=policy.can_manage_person(current_user, found),
        action_form=ActionForm(),
        role_labels=ROLE_LABELS,
    )


def _set_active(user_id: int, active: bool, message: str):
    found = person_or_404(user_id, manage=True)
    if ActionForm().validate_on_submit():
        accounts.set_active(db.session, found, active, by=current_user)
        db.session.commit()
        flash(message.format(name=found.display_name), "success")
    return redirect(url_for("focal.person", user_id=found.id))


@bp.post("/people/<int:user_id>/deactivate")
def deactivate(user_id: int):
    """Deactivate: every session ends at once; progress and certificates stay."""
    return _set_active(user_id, False, "{name} is deactivated. Their records are kept.")


@bp.post("/people/<int:user_id>/reactivate")
def reactivate(user_id: int):
    return _set_active(user_id, True, "{name} is active again.")


@bp.post("/people/<int:user_id>/approve")
def approve(user_id: int):
    """Approve a self-registered person of the country."""
    found = person_or_404(user_id, manage=True)
    if ActionForm().validate_on_submit() and found.pending_approval:
        accounts.approve_registration(db.session, found, by=current_user)
        db.session.commit()
        flash(f"{found.display_name} can now sign in.", "success")
    return redirect(url_for("focal.person", user_id=found.id))


# --- invitations ------------------------------------------------------------------------


@bp.get("/invitations")
def invitation_list():
    """Invitations of the country, newest first, with whether their mail went out."""
    statement = policy.scope_invitations(current_user, select(Invitation))
    country_id = selected_country_id()
    if country_id:
        statement = statement.where(Invitation.country_id == country_id)
    rows = db.session.scalars(statement.order_by(Invitation.created_at.desc()).limit(200)).all()
    latest_mail = {}
    if rows:
        mails = db.session.scalars(
            select(OutgoingMail)
            .where(
                OutgoingMail.purpose == "invitation",
                OutgoingMail.related_id.in_([row.id for row in rows]),
            )
            .order_by(OutgoingMail.id)
        )
        latest_mail = {message.related_id: message for message in mails}
    return render_template(
        "focal/invitations.html",
        invitations=rows,
        latest_mail=latest_mail,
        action_form=ActionForm(),
        role_labels=ROLE_LABELS,
    )


def _invitation_mail(invitation: Invitation, token: str) -> MailItem:
    return MailItem(
        to=invitation.email,
        subject="You are invited to the RSO Learning Portal",
        template="invitation",
        purpose="invitation",
        related_id=invitation.id,
        created_by_id=current_user.id,
        context={
            "invitation": invitation,
            "inviter": current_user.display_name,
            "link": url_for("invitations.accept", token=token, _external=True),
        },
    )


def _existing_account_mail(person: User) -> MailItem:
    return MailItem(
        to=person.email,
        subject="About your RSO Learning Portal account",
        template="existing_account",
        purpose="existing_account",
        related_id=person.id,
        created_by_id=current_user.id,
        context={
            "login": url_for("auth.login", _external=True),
            "reset": url_for("auth.reset_request", _external=True),
        },
    )


def _send_invitation(invitation: Invitation, token: str) -> OutgoingMail:
    return send_templated_mails([_invitation_mail(invitation, token)])[0]


def _invite_one(
    *, email: str, name: str, role: str, country: Country | None, courses: list[str], due_on
) -> OutgoingMail | None:
    """Create one invitation and mail it; raises AlreadyInvited when the actor may know why."""
    visible = policy.is_admin(current_user) or (
        country is not None and country.id == current_user.country_id
    )
    existing = accounts.find_user_by_email(db.session, email)
    created = invitations.invite(
        db.session,
        email=email,
        display_name=name,
        role=role,
        country=country,
        invited_by=current_user,
        course_slugs=courses,
        due_on=due_on,
        visible_to_inviter=visible
        and (existing is None or policy.can_see_person(current_user, existing)),
    )
    db.session.commit()
    if created.existing_user is not None:
        send_templated_mails([_existing_account_mail(created.existing_user)])
        return None
    return _send_invitation(created.invitation, created.token)


@bp.route("/invitations/new", methods=["GET", "POST"])
def invite():
    """Invite one person. Focal points invite learners of their own country."""
    form = InviteForm()
    form.country.choices = options(country_choices())
    form.courses.choices = options(course_choices())
    roles = ["learner", "focal_point", "admin"] if policy.is_admin(current_user) else ["learner"]
    form.role.choices = options([(role, ROLE_LABELS[role]) for role in roles])
    if form.validate_on_submit():
        country = db.session.get(Country, form.country.data)
        if not policy.can_invite(current_user, role=form.role.data, country_id=form.country.data):
            abort(403)
        if form.due_on.data and form.due_on.data < date.today():
            form.due_on.errors.append("The due date is in the past.")
        else:
            try:
                message = _invite_one(
                    email=form.email.data,
                    name=form.display_name.data,
                    role=form.role.data,
                    country=country,
                    courses=form.courses.data or [],
                    due_on=form.due_on.data,
                )
            except invitations.AlreadyInvited as error:
                db.session.rollback()
                form.email.errors.append(str(error))
            else:
                if message is None or message.sent_at is not None:
                    flash(f"Invitation sent to {form.email.data.strip().lower()}.", "success")
                else:
                    flash(
                        f"The invitation is saved but the email could not be sent "
                        f"({message.last_error}). Use “Send the email again” below.",
                        "error",
                    )
                return redirect(url_for("focal.invitation_list"))
    return render_template("focal/invite.html", form=form)


@bp.route("/invitations/upload", methods=["GET", "POST"])
def upload():
    """Upload a CSV of staff: a preview shows every row, nothing is written yet."""
    form = UploadForm()
    form.country.choices = options(country_choices())
    if form.validate_on_submit():
        if not policy.can_invite(
            current_user, role=Role.LEARNER.value, country_id=form.country.data
        ):
            abort(403)
        data = form.file.data.read(invitation_csv.MAX_BYTES + 1)
        preview = _preview(data, form.country.data)
        text, _ = invitation_csv.decode_csv(data) if preview.refusal is None else ("", None)
        confirm = ConfirmUploadForm(csv_text=text, country=str(form.country.data))
        return render_template("focal/upload_preview.html", preview=preview, confirm=confirm)
    return render_template("focal/upload.html", form=form)


def _preview(data: bytes, country_id: int) -> invitation_csv.InvitationPreview:
    now = utcnow()
    preview = invitation_csv.parse_invitation_csv(
        data,
        known_courses={slug for slug, _ in course_choices()},
        unavailable_emails=set(),
        today=now.date(),
    )
    emails = {row.email for row in preview.rows}
    visible_country = None if policy.is_admin(current_user) else current_user.country_id
    taken = invitations.unavailable_emails(
        db.session, emails, visible_country_id=visible_country, now=now
    )
    if taken:
        preview = invitation_csv.parse_invitation_csv(
            data,
            known_courses={slug for slug, _ in course_choices()},
            unavailable_emails=taken,
            today=now.date(),
        )
    return preview


@bp.post("/invitations/confirm")
def confirm_upload():
    """Create every valid row of the previewed CSV in one transaction, then send the mail."""
    form = ConfirmUploadForm()
    if not form.validate_on_submit():
        flash("The upload has expired. Please upload the file again.", "error")
        return redirect(url_for("focal.upload"))
    country_id = int(form.country.data)
    if not policy.can_invite(current_user, role=Role.LEARNER.value, country_id=country_id):
        abort(403)
    country = db.session.get(Country, country_id)
    # Re-check everything: the state may have changed since the preview.
    preview = _preview(form.csv_text.data.encode("utf-8"), country_id)
    if preview.refusal:
        flash(preview.refusal, "error")
        return redirect(url_for("focal.upload"))
    requests = [
        invitations.InvitationRequest(
            email=row.email, display_name=row.name, course_slugs=row.course_slugs, due_on=row.due_on
        )
        for row in preview.valid_rows
    ]
    try:
        results = invitations.invite_many(
            db.session,
            requests,
            role=Role.LEARNER.value,
            country=country,
            invited_by=current_user,
            may_see=lambda person_: policy.can_see_person(current_user, person_),
        )
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(f"Nothing was created: {error}", "error")
        return redirect(url_for("focal.upload"))
    messages = send_templated_mails(
        [
            _invitation_mail(result.invitation, result.token)
            if result.invitation is not None
            else _existing_account_mail(result.existing_user)
            for result in results
        ]
    )
    failed = sum(message.sent_at is None for message in messages)
    message = f"{len(results)} invitation(s) created; {len(preview.refused_rows)} row(s) refused."
    if failed:
        message += f" {failed} email(s) could not be sent yet: use “Send the email again”."
    flash(message, "error" if failed else "success")
    return redirect(url_for("focal.invitation_list"))


@bp.post("/invitations/<int:invitation_id>/resend")
def resend(invitation_id: int):
    """A new link (the old one stops working) and a new email."""
    invitation = invitation_or_404(invitation_id)
    if ActionForm().validate_on_submit():
        try:
            token = invitations.renew(db.session, invitation, by=current_user)
        except DomainError as error:
            flash(str(error), "error")
        else:
            db.session.commit()
            message = _send_invitation(invitation, token)
            if message.sent_at:
                flash(f"Invitation sent again to {invitation.email}.", "success")
            else:
                flash(f"The email could not be sent ({message.last_error}).", "error")
    return redirect(url_for("focal.invitation_list"))


@bp.post("/invitations/<int:invitation_id>/withdraw")
def withdraw(invitation_id: int):
    invitation = invitation_or_404(invitation_id)
    if ActionForm().validate_on_submit():
        try:
            invitations.withdraw(db.session, invitation, by=current_user)
            db.session.commit()
            flash(f"The invitation to {invitation.email} is withdrawn.", "success")
        except DomainError as error:
            flash(str(error), "error")
    return redirect(url_for("focal.invitation_list"))


@bp.post("/invitations/<int:invitation_id>/retry-mail")
def retry_mail(invitation_id: int):
    """Try again to deliver the stored email of an invitation that did not go out."""
    invitation = invitation_or_404(invitation_id)
    if ActionForm().validate_on_submit():
        message = db.session.scalar(
            select(OutgoingMail)
            .where(OutgoingMail.purpose == "invitation", OutgoingMail.related_id == invitation.id)
            .order_by(OutgoingMail.id.desc())
            .limit(1)
        )
        if message is not None and message.sent_at is None:
            sent = mail.deliver(db.session, message, mail_settings())
            db.session.commit()
            if sent:
                flash(f"The email to {invitation.email} is sent.", "success")
            else:
                flash(f"The email could not be sent ({message.last_error}).", "error")
    return redirect(url_for("focal.invitation_list"))


# --- enrolment --------------------------------------------------------------------------


@bp.route("/enrol", methods=["GET", "POST"])
def enrol():
    """Enrol one, several or all of the country's active staff in a course."""
    form = EnrolForm()
    statement = policy.scope_people(
        current_user, select(User).where(User.is_active, User.role == Role.LEARNER.value)
    )
    country_id = selected_country_id()
    if country_id:
        statement = statement.where(User.country_id == country_id)
    staff = db.session.scalars(statement.order_by(func.lower(User.display_name))).all()
    form.learners.choices = options(
        [(person_.id, f"{person_.display_name} ({person_.email})") for person_ in staff]
    )
    form.course.choices = options(course_choices())
    if request.method == "GET" and request.args.get("learner", type=int):
        form.learners.data = [request.args.get("learner", type=int)]
    if form.validate_on_submit():
        chosen = (
            staff
            if form.everyone.data
            else [p for p in staff if p.id in set(form.learners.data or [])]
        )
        if form.due_on.data and form.due_on.data < date.today():
            form.due_on.errors.append("The due date is in the past.")
        elif not chosen:
            form.learners.errors.append("Choose at least one person, or all staff.")
        else:
            course = enrolment.published_course(db.session, form.course.data)
            for learner in chosen:
                if not policy.can_manage_person(current_user, learner):
                    abort(403)
                enrolment.enrol(
                    db.session, learner, course, by=current_user, due_on=form.due_on.data
                )
            db.session.commit()
            flash(f"{len(chosen)} person(s) enrolled.", "success")
            return redirect(url_for("focal.roster", course=course.slug))
    return render_template("focal/enrol.html", form=form, staff_count=len(staff))


@bp.post("/enrollments/<int:enrollment_id>/unenrol")
def unenrol(enrollment_id: int):
    """Remove an enrolment; the learner's progress stays for if they return."""
    found = enrollment_or_404(enrollment_id)
    if ActionForm().validate_on_submit():
        enrolment.unenrol(db.session, found, by=current_user)
        db.session.commit()
        flash("Unenrolled. Their progress is kept.", "success")
    return redirect(url_for("focal.person", user_id=found.user_id))


# --- progress report --------------------------------------------------------------------
# (Imported here, with the routes they serve, rather than at the top of the module.)


REPORT_PAGE_SIZE = 50  # rows of the grid per page; the CSV has them all


def _report_country() -> Country | None:
    """The report's country: the focal point's own (whatever ?country= says) or the admin's."""
    country_id = selected_country_id()
    if country_id is None:
        return None
    country = db.session.get(Country, country_id)
    if country is None:
        abort(404)
    if not (policy.is_admin(current_user) or policy.same_country(current_user, country.id)):
        abort(404)  # cannot happen through selected_country_id(); said again where it matters
    return country


def _report_filters() -> tuple[dict, list[str]]:
    """The filters of the query string, and what is wrong with them (ignored, and said)."""
    errors = []
    status = request.args.get("status", "")
    if status and status not in reports.STATUSES:
        errors.append("Choose a status from the list.")
        status = ""
    due_text = request.args.get("due_before", "").strip()
    due_before = None
    if due_text:
        try:
            due_before = date.fromisoformat(due_text)
        except ValueError:
            errors.append("Enter the due date as year-month-day, for example 2030-06-30.")
    filters = {
        "course": request.args.get("course", "").strip(),
        "status": status or None,
        "due_before": due_before,
        "due_text": due_text,
    }
    return filters, errors


def _report_grid(
    country: Country, filters: dict, *, page: int, page_size: int | None, rates: bool = False
):
    """The courses, the columns and the grid (one page, or all of it) for these filters.

    `rates`: the page shows completion rates; without a status or due date filter the courses'
    query counts them (`reports.completion_rates` then asks nothing more).
    """
    unfiltered = not (filters["status"] or filters["due_before"])
    courses = reports.report_courses(
        db.session, country_id=country.id, count_completions=rates and unfiltered
    )
    columns = reports.report_columns(courses, filters["course"])
    arguments = {
        "country_id": country.id,
        "courses": columns,
        "course_chosen": bool(filters["course"]),
        "status": filters["status"],
        "due_before": filters["due_before"],
        "today": utcnow().date(),
    }
    grid = reports.staff_course_grid(db.session, **arguments, page=page, page_size=page_size)
    return courses, columns, grid, arguments


@bp.get("/report")
def report():
    """Staff × course grid of the country, with completion rates and mastery; printable."""
    country = _report_country()
    filters, errors = _report_filters()
    page = max(request.args.get("page", 1, type=int), 1)
    countries = country_choices() if policy.is_admin(current_user) else []
    if country is None:
        return render_template(
            "focal/report.html", country=None, countries=countries, filters=filters, errors=[]
        )
    courses, columns, grid, arguments = _report_grid(
        country, filters, page=page, page_size=REPORT_PAGE_SIZE, rates=True
    )
    if filters["course"] and not columns:
        errors.append("That course is not published. Choose one from the list.")
    query = {key: value for key, value in request.args.items() if key != "page"}
    return render_template(
        "focal/report.html",
        country=country,
        countries=countries,
        filters=filters,
        errors=errors,
        courses=courses,
        columns=columns,
        grid=grid,
        rates=reports.completion_rates(db.session, **arguments),
        mastery=reports.mastery_by_provision(
            db.session,
            country_id=country.id,
            course_id=columns[0].id if filters["course"] and columns else None,
        ),
        statuses=reports.STATUSES,
        today=arguments["today"],
        format_day=reports.format_day,
        csv_url=url_for("focal.report_csv", **query),
        page_url=lambda number: url_for("focal.report", **{**query, "page": number}),
        # Each row links to the person's page: built once, each row adding its id, since
        # url_for for every row was a quarter of the page's rendering.
        person_url_prefix=url_for("focal.person", user_id=0).removesuffix("0"),
    )


@bp.get("/report.csv")
def report_csv():
    """The grid as a CSV file: every filtered row, exactly the cells the page shows."""
    country = _report_country()
    if country is None:
        flash("Choose a country first.", "error")
        return redirect(url_for("focal.report"))
    filters, _ = _report_filters()
    _, columns, grid, _ = _report_grid(country, filters, page=1, page_size=None)
    body = reports.csv_text(reports.csv_rows(grid.rows, columns))
    filename = f"progress-{country.code.lower()}-{utcnow().date().isoformat()}.csv"
    return Response(
        body.encode("utf-8"),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/certificates")
def certificate_list():
    """The certificates earned by the country's staff, newest first."""
    statement = (
        select(Certificate, User)
        .join(User, User.id == Certificate.user_id)
        .order_by(Certificate.issued_at.desc())
        .limit(500)
    )
    statement = policy.scope_people(current_user, statement)
    country_id = selected_country_id()
    if country_id:
        statement = statement.where(User.country_id == country_id)
    return render_template(
        "focal/certificates.html",
        rows=db.session.execute(statement).all(),
        now=utcnow(),
    )
