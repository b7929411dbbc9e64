"""Catalogue, course, lesson and quiz pages, attempts, the dashboard and certificates."""

from __future__ import annotations

import json
from collections import OrderedDict

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import select

from app import policy
from app.auth.session import read_along, read_along_with_sign_in
from app.certificates import share as certificate_share
from app.compression import KeptPage, kept_page_response
from app.extensions import commit_keeping_loaded, db, reads_before_writing
from app.focal.forms import ActionForm
from app.models import REVOCATION_LABELS, Certificate, Course, MediaFile, QuizAttempt, utcnow
from app.services import catalog, certificates, enrolment, grading, progress
from app.services.errors import DomainError, NotFound

bp = Blueprint("learn", __name__)


@bp.app_context_processor
def dates() -> dict:
    return {"today": lambda: utcnow().date()}


@bp.app_template_filter("duration")
def duration(minutes: int | None) -> str:
    """Minutes as a person reads them: '45 min', '2 h 10 min'."""
    minutes = minutes or 0
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


@bp.get("/")
def home():
    """The front page: what the portal is, and the courses."""
    return render_template("learn/home.html", courses=catalog.cached_published_courses(db.session))


@bp.get("/courses")
def catalogue():
    """Every published course."""
    courses = catalog.cached_published_courses(db.session)
    # The cards are the same for everyone until the catalogue changes: rendered once per load.
    cached = current_app.extensions.get("learn.catalogue_cards")
    if cached is None or cached[0] is not courses or current_app.debug:
        cards = _rendered("learn/_catalogue_cards.html", courses=courses)
        cached = current_app.extensions["learn.catalogue_cards"] = (courses, cards)
    return render_template("learn/catalogue.html", courses=courses, cards=cached[1])


@bp.get("/courses/<slug>")
def course(slug: str):
    """A course overview: modules, lessons, quizzes and estimated time."""
    try:
        found = catalog.cached_published_course(db.session, slug)
    except NotFound:
        abort(404)
    enrollment, course_progress = _learner_progress(found)
    return render_template(
        "learn/course.html",
        course=found,
        version=found.published_version,
        enrollment=enrollment,
        progress=course_progress,
        action_form=ActionForm(),
    )


def _learner_progress(course):  # noqa: ANN001, ANN202
    """(enrolment, progress) of the signed-in learner in this course, or (None, None)."""
    if not current_user.is_authenticated:
        return None, None
    enrollment = progress.active_enrolment(db.session, current_user, course)
    if enrollment is None:
        return None, None
    return enrollment, progress.course_progress(db.session, current_user, course)


def _rendered(template: str, **context: object) -> Markup:
    """A template rendered to keep as part of a page: Jinja has escaped it already."""
    return Markup(render_template(template, **context))  # noqa: S704


def lesson_fragments(course, version, place, lesson) -> dict[str, Markup]:  # noqa: ANN001
    """The breadcrumbs, article, pager and mark-complete address of a lesson page, the same for
    every reader: rendered when the page is (`lesson_page` keeps the whole page)."""
    context = {"course": course, "version": version, "place": place, "lesson": lesson}
    return {
        "article": _rendered("learn/_lesson_article.html", **context),
        "breadcrumbs": _rendered("learn/_item_nav_fragment.html", part="breadcrumbs", **context),
        "pager": _rendered("learn/_item_nav_fragment.html", part="pager", **context),
        "complete_url": url_for(
            "learn.complete",
            slug=course.slug,
            module_slug=place.module["slug"],
            item_slug=lesson.slug,
        ),
    }


# Whole lesson pages kept per process, by lesson, the reader's standing and the lesson's state
# for them: about 10 KB each.
LESSON_PAGES = 256
# Stands for the session's CSRF token in a kept page; put in at each request.
_TOKEN_MARK = "\x00csrf-token\x00"  # noqa: S105 - a placeholder, not a secret


class _Standing:
    """What the lesson page's navigation may know of its reader, and nothing else: a kept page
    is shown to everyone of the same standing, so it must never hold anything of one person's
    (a template that asks for more fails here instead of showing it to the next reader)."""

    __slots__ = ("is_authenticated", "is_staff", "is_admin")

    def __init__(self, user) -> None:  # noqa: ANN001
        signed_in = bool(user.is_authenticated)
        self.is_authenticated = signed_in
        self.is_staff = signed_in and bool(user.is_staff)
        self.is_admin = signed_in and bool(user.is_admin)

    def key(self) -> tuple[bool, bool, bool]:
        return (self.is_authenticated, self.is_staff, self.is_admin)

    def __getattr__(self, name: str) -> object:
        raise RuntimeError(f"a kept lesson page cannot show current_user.{name}")


def lesson_page(course, version, place, lesson, *, enrolled: bool, completed: bool) -> Response:  # noqa: ANN001
    """The lesson page, rendered once per process for each standing (visitor, learner, staff,
    admin) and state (not enrolled, to do, done), then served with the session's CSRF token:
    rendering it was a sixth of a signed-in lesson page, and compressing it a quarter (it is
    compressed once, app/compression.py). A page with messages to flash, or in debug mode
    (templates change), is rendered and compressed as usual."""

    def render(**reader: object) -> str:
        return render_template(
            "learn/lesson.html",
            course=course,
            version=version,
            place=place,
            lesson=lesson,
            fragments=lesson_fragments(course, version, place, lesson),
            enrolled=enrolled,
            completed=completed,
            **reader,
        )

    if current_app.debug or "_flashes" in session:
        return Response(render(), mimetype="text/html")
    standing = _Standing(current_user._get_current_object())
    key = (
        course.slug,
        version.id,
        lesson.key,
        standing.key(),
        enrolled,
        completed,
        request.script_root,
    )
    cache: OrderedDict = current_app.extensions.setdefault("learn.lesson_pages", OrderedDict())
    kept = cache.get(key)
    if kept is None:
        page = render(current_user=standing, csrf_token=lambda: _TOKEN_MARK)
        kept = cache[key] = KeptPage(page.split(_TOKEN_MARK))
        while len(cache) > LESSON_PAGES:
            cache.popitem(last=False)
    # A visitor's page has no form: asking for a token would start a session for them.
    return kept_page_response(kept, generate_csrf() if len(kept.parts) > 1 else "")


@bp.url_value_preprocessor
def read_with_sign_in(endpoint: str | None, values: dict | None) -> None:
    """The two busiest pages read their own row with the sign-in lookup, in one statement (this
    runs before anything loads the reader): a lesson page its state for the reader (a quiz
    page reads it too, and leaves it), a submission its attempt with the course."""
    if not values:
        return
    if endpoint == "learn.item" and request.method == "GET":
        try:
            found = catalog.cached_published_course(db.session, values["slug"])
        except NotFound:
            return
        key = f"{values['module_slug']}/{values['item_slug']}"
        read_along_with_sign_in(progress.LESSON_STATE_WITH_SIGN_IN, course_id=found.id, key=key)
    elif (
        endpoint == "learn.answer"
        and request.method == "POST"
        and request.form.get("action") != "save"  # saving reads the attempt as it was
    ):
        # The submission's time is taken before its attempt is read (see `answer`).
        g.answer_received_at = utcnow()
        read_along_with_sign_in(
            grading.ATTEMPT_TO_GRADE_WITH_SIGN_IN, attempt_id=values["attempt_id"]
        )


@bp.get("/courses/<slug>/<module_slug>/<item_slug>")
def item(slug: str, module_slug: str, item_slug: str):
    """A lesson or a quiz of the published version."""
    key = f"{module_slug}/{item_slug}"
    try:
        found = catalog.cached_published_course(db.session, slug)
        version = found.published_version
        place = catalog.locate_item(version, key)
        if place.item["kind"] == "lesson":
            lesson = catalog.cached_lesson(db.session, version, key)
            enrolled, completed = False, False
            if current_user.is_authenticated:
                read = read_along(progress.LESSON_STATE_WITH_SIGN_IN, course_id=found.id, key=key)
                enrolled, completed = progress.lesson_state(
                    db.session, current_user, found, key, read=read
                )
            return lesson_page(
                found, version, place, lesson, enrolled=enrolled, completed=completed
            )
        quiz_page = catalog.cached_quiz_page(db.session, version, key)
    except NotFound:
        abort(404)
    enrollment, course_progress = _learner_progress(found)
    attempts = []
    if enrollment is not None:
        attempts = grading.attempts_of(db.session, current_user, found, key)
    return render_template(
        "learn/quiz.html",
        course=found,
        version=version,
        place=place,
        quiz=quiz_page.quiz,
        questions=list(quiz_page.questions),
        enrollment=enrollment,
        progress=course_progress,
        attempts=attempts,
        action_form=ActionForm(),
    )


@bp.post("/courses/<slug>/<module_slug>/<item_slug>/complete")
@login_required
def complete(slug: str, module_slug: str, item_slug: str):
    """Mark a lesson as complete, then go on to the next item."""
    if not ActionForm().validate_on_submit():
        abort(400)
    key = f"{module_slug}/{item_slug}"
    try:
        found = catalog.cached_published_course(db.session, slug)
        place = catalog.locate_item(found.published_version, key)
        done = progress.complete_lesson(db.session, current_user, found, key)
    except NotFound:
        abort(404)
    except DomainError as error:
        flash(str(error), "error")
        return redirect(url_for("learn.course", slug=slug))
    # Nothing read before changed but what the session itself wrote: the reader and the
    # enrolment stay loaded as they now are, with no query to reload them.
    commit_keeping_loaded()
    if done.enrollment.completed_at is not None:
        flash("Course completed. Well done!", "success")
        return redirect(url_for("learn.course", slug=slug))
    if place.next:
        module = place.next["key"].split("/")[0]
        return redirect(
            url_for("learn.item", slug=slug, module_slug=module, item_slug=place.next["slug"])
        )
    return redirect(url_for("learn.course", slug=slug))


@bp.post("/courses/<slug>/<module_slug>/<item_slug>/attempts")
@login_required
def start_attempt(slug: str, module_slug: str, item_slug: str):
    """Start an attempt (or continue the open one) and open it."""
    if not ActionForm().validate_on_submit():
        abort(400)
    key = f"{module_slug}/{item_slug}"
    try:
        found = catalog.get_published_course(db.session, slug)
        quiz = catalog.get_quiz(db.session, found.published_version, key)
        attempt = grading.start_attempt(db.session, current_user, found, quiz)
    except NotFound:
        abort(404)
    except DomainError as error:
        db.session.commit()  # keeps an attempt closed on time-out, if any
        flash(str(error), "error")
        return redirect(
            url_for("learn.item", slug=slug, module_slug=module_slug, item_slug=item_slug)
        )
    db.session.commit()
    return redirect(url_for("learn.attempt", attempt_id=attempt.id))


def attempt_or_404(attempt_id: int) -> QuizAttempt:
    """Only the learner who made an attempt may open it."""
    attempt = db.session.get(QuizAttempt, attempt_id)
    if attempt is None or not policy.can_see_attempt(current_user, attempt):
        abort(404)
    return attempt


@bp.get("/attempts/<int:attempt_id>")
@login_required
def attempt(attempt_id: int):
    """The attempt's form while open; its results once submitted."""
    found = attempt_or_404(attempt_id)
    course = db.session.get(Course, found.course_id)
    quiz = catalog.get_quiz_of_version(db.session, found.version_id, found.quiz_key)
    if found.submitted_at is None:
        return render_template(
            "learn/attempt.html",
            attempt=found,
            course=course,
            quiz=quiz,
            questions=grading.attempt_questions(db.session, found),
            remaining=grading.seconds_left(found),
            form=ActionForm(),
        )
    results = grading.graded_results(db.session, found)
    return render_template(
        "learn/attempt_result.html",
        attempt=found,
        course=course,
        quiz=quiz,
        results=results,
        mastery=grading.mastery_by_provision(results),
        attempts_left=grading.attempts_left(db.session, current_user, course, quiz),
        action_form=ActionForm(),
    )


@bp.post("/attempts/<int:attempt_id>")
@login_required
def answer(attempt_id: int):
    """Save the answers, or submit them for grading."""
    saving = request.form.get("action") == "save"
    # The CSRF token was checked before the view (CSRFProtect).
    if saving:
        found, loaded = attempt_or_404(attempt_id), None
    else:
        # Grading reads the course and the quiz's questions too: they load with the attempt in
        # one query, the sign-in lookup's (attempt_or_404 then finds it in the session), before
        # the write lock, so grading runs without holding it. The claim of the attempt is
        # conditional; the time is taken before the read, so a late attempt's saved answers
        # were final when read.
        now = g.get("answer_received_at") or utcnow()
        read = read_along(grading.ATTEMPT_TO_GRADE_WITH_SIGN_IN, attempt_id=attempt_id)
        with reads_before_writing():
            loaded = grading.attempt_to_grade(db.session, attempt_id, read=read)
            found = attempt_or_404(attempt_id)
    raw = answers_from_form(request.form)
    session = db.session()
    try:
        if saving:
            if grading.save_answers(session, found, raw):
                flash("Your answers are saved.", "success")
            else:
                flash("Time is up: answers can no longer be changed. Submit to be graded.", "error")
        else:
            if loaded is None:  # the attempt exists but its quiz does not
                abort(404)
            _, course, quiz = loaded
            grading.submit_attempt(
                session, found, raw, learner=current_user, course=course, quiz=quiz, now=now
            )
    except grading.AttemptClosed:
        session.rollback()
        flash("This attempt was already submitted; here is its result.", "info")
    except grading.InvalidAnswers as error:
        commit_keeping_loaded()  # keeps the audit record of the refusal
        flash(f"Your answers could not be accepted: {error} Nothing was changed.", "error")
    else:
        # Only the redirect follows: nothing read before needs reloading.
        commit_keeping_loaded()
    return redirect(url_for("learn.attempt", attempt_id=attempt_id))


def answers_from_form(form) -> dict:  # noqa: ANN001
    """Fields named q<question id>: choice ids (radio, checkboxes) or text."""
    answers = {}
    for name in form:
        if name.startswith("q") and name[1:].isdigit():
            values = form.getlist(name)
            answers[name[1:]] = values if len(values) != 1 else values[0]
    return answers


@bp.get("/dashboard")
@login_required
def dashboard():
    """The learner's courses with progress and due dates; completed ones; open ones to join."""
    enrolments = enrolment.active_enrolments(db.session, current_user)
    published = {course.id: course for course in catalog.cached_published_courses(db.session)}
    taken = [published[e.course_id] for e in enrolments if e.course_id in published]
    progress_by_course = progress.progress_in_courses(db.session, current_user, taken)
    rows = [
        (e, published[e.course_id], progress_by_course.get(e.course_id))
        for e in enrolments
        if e.course_id in published
    ]
    enrolled_ids = {e.course_id for e in enrolments}
    return render_template(
        "learn/dashboard.html",
        current=[row for row in rows if row[0].completed_at is None],
        completed=[row for row in rows if row[0].completed_at is not None],
        open_courses=[
            course
            for course in published.values()
            if course.published_version.is_open and course.id not in enrolled_ids
        ],
        action_form=ActionForm(),
    )


@bp.post("/courses/<slug>/enrol")
@login_required
def self_enrol(slug: str):
    """Join an open course."""
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        course = enrolment.published_course(db.session, slug)
        enrolment.self_enrol(db.session, current_user, course)
    except NotFound:
        abort(404)
    except DomainError as error:
        flash(str(error), "error")
        return redirect(url_for("learn.course", slug=slug))
    db.session.commit()
    flash("You are enrolled. Good learning!", "success")
    return redirect(url_for("learn.dashboard"))


@bp.get("/certificates")
@login_required
def my_certificates():
    """The learner's certificates: PDF, signed credential, verification and sharing links."""
    rows = certificates.certificates_of(db.session, current_user)
    return render_template(
        "learn/certificates.html",
        rows=rows,
        now=utcnow(),
        linkedin=certificate_share.linkedin_url,
        reasons=REVOCATION_LABELS,
    )


def certificate_or_404(code: str) -> Certificate:
    found = certificates.verify_code(db.session, code).certificate
    if found is None or not policy.can_see_certificate(current_user, found):
        abort(404)
    return found


@bp.get("/certificates/<code>.pdf")
@login_required
def certificate_pdf(code: str):
    """The printable certificate; the same certificate always gives the same file."""
    found = certificate_or_404(code)
    pdf = certificate_share.pdf_of(found, status=found.status(utcnow()))
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="certificate-{found.code}.pdf"'},
    )


@bp.get("/certificates/<code>.json")
@login_required
def certificate_json(code: str):
    """The signed Open Badges 3.0 credential, to keep or to add to a wallet."""
    found = certificate_or_404(code)
    return Response(
        json.dumps(found.credential, ensure_ascii=False, indent=2),
        mimetype="application/ld+json",
        headers={"Content-Disposition": f'attachment; filename="certificate-{found.code}.json"'},
    )


@bp.get("/media/<sha256>.<extension>")
def media(sha256: str, extension: str):
    """A lesson image, re-encoded; its name is its hash, so it may be cached for a year."""
    found = db.session.scalar(
        select(MediaFile).where(MediaFile.sha256 == sha256, MediaFile.extension == extension)
    )
    if found is None:
        abort(404)
    response = Response(found.data, mimetype=found.content_type)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
