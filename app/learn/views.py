"""Catalogue, course overview, lesson and quiz pages. Readable without an account."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from app.extensions import db
from app.focal.forms import ActionForm
from app.models import utcnow
from app.services import catalog, enrolment
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
    return render_template("learn/home.html", courses=catalog.published_courses(db.session))


@bp.get("/courses")
def catalogue():
    """Every published course."""
    return render_template("learn/catalogue.html", courses=catalog.published_courses(db.session))


@bp.get("/courses/<slug>")
def course(slug: str):
    """A course overview: modules, lessons, quizzes and estimated time."""
    try:
        found = catalog.get_published_course(db.session, slug)
    except NotFound:
        abort(404)
    return render_template("learn/course.html", course=found, version=found.published_version)


@bp.get("/courses/<slug>/<module_slug>/<item_slug>")
def item(slug: str, module_slug: str, item_slug: str):
    """A lesson or a quiz of the published version."""
    key = f"{module_slug}/{item_slug}"
    try:
        found = catalog.get_published_course(db.session, slug)
        version = found.published_version
        place = catalog.locate_item(version, key)
        if place.item["kind"] == "lesson":
            lesson = catalog.get_lesson(db.session, version, key)
            return render_template(
                "learn/lesson.html", course=found, version=version, place=place, lesson=lesson
            )
        quiz = catalog.get_quiz(db.session, version, key)
    except NotFound:
        abort(404)
    return render_template(
        "learn/quiz.html",
        course=found,
        version=version,
        place=place,
        quiz=quiz,
        questions=catalog.public_questions(quiz),
    )


@bp.get("/dashboard")
@login_required
def dashboard():
    """The learner's courses, with due dates; and open courses they may join."""
    enrolments = enrolment.active_enrolments(db.session, current_user)
    enrolled_ids = {e.course_id for e in enrolments}
    open_courses = [
        course
        for course in catalog.published_courses(db.session)
        if course.published_version.is_open and course.id not in enrolled_ids
    ]
    courses_by_id = {c.id: c for c in catalog.published_courses(db.session)}
    return render_template(
        "learn/dashboard.html",
        enrolments=[(e, courses_by_id.get(e.course_id)) for e in enrolments],
        open_courses=open_courses,
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
