"""The report service: status rule, CSV safety, months, mastery and question statistics."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Course,
    Enrollment,
    LessonProgress,
    Question,
    QuestionResponse,
    Quiz,
    QuizAttempt,
    Role,
)
from app.services import mastery, reports
from tests.factories import make_country, make_user, write_graded_attempt
from tests.unit.test_mastery import graded, person

TODAY = date(2025, 6, 15)


@pytest.mark.parametrize(
    ("facts", "text"),
    [
        ({}, "Not started"),
        ({"due_on": TODAY}, "Not started"),  # due today is not late yet
        ({"due_on": TODAY - timedelta(days=1)}, "Not started · Overdue"),
        ({"done": 2}, "In progress 40%"),
        ({"active": True}, "In progress 0%"),
        ({"done": 5, "due_on": date(2020, 1, 1)}, "In progress 100% · Overdue"),
        (
            {"completed_at": datetime(2025, 3, 3, 23, 59, tzinfo=UTC), "due_on": date(2020, 1, 1)},
            "Completed 03 Mar 2025",
        ),
    ],
)
def test_a_cell_says_where_the_learner_stands(facts, text):
    values = {"done": 0, "completed_at": None, "active": False, "due_on": None} | facts
    cell = reports.make_cell(total=5, today=TODAY, **values)
    assert cell.text == text
    assert cell.overdue == text.endswith("Overdue")


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+61 2 1234", "'+61 2 1234"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Budi = Santoso", "Budi = Santoso"),
        ("—", "—"),
        ("", ""),
    ],
)
def test_cells_a_spreadsheet_would_run_get_an_apostrophe(value, safe):
    assert reports.neutralise(value) == safe


def test_the_csv_has_a_bom_a_header_and_one_column_per_course():
    course = reports.ReportCourse(1, "c", "=Course", ("m/a",), ("m/q",))
    row = reports.StaffRow(7, "Siti Rahmawati", "siti@example.go.id")
    row.cells[1] = reports.make_cell(
        done=1,
        total=2,
        completed_at=None,
        active=False,
        due_on=None,
        today=TODAY,
    )
    other = reports.StaffRow(8, "สมชาย ใจดี", "somchai@example.go.th")
    text = reports.csv_text(reports.csv_rows([row, other], [course]))
    assert text.startswith("\ufeff")
    assert list(csv.reader(io.StringIO(text[1:]))) == [
        ["Name", "Email", "'=Course"],
        ["Siti Rahmawati", "siti@example.go.id", "In progress 50%"],
        ["สมชาย ใจดี", "somchai@example.go.th", "—"],
    ]


def test_the_last_twelve_months_end_with_this_one():
    months = reports.last_months(date(2025, 2, 10))
    assert months[0] == date(2024, 3, 1) and months[-1] == date(2025, 2, 1)
    assert len(months) == 12 and [reports.month_label(m) for m in months[-2:]] == [
        "Jan 2025",
        "Feb 2025",
    ]


@pytest.fixture
def course(imported_course) -> Course:
    return db.session.scalar(select(Course).where(Course.slug == imported_course))


def test_completions_fall_in_their_utc_month(app, course):
    indonesia = make_country("ID", "Indonesia")
    moments = [
        datetime(2025, 5, 31, 23, 59, tzinfo=UTC),  # May, though June 1 in Jakarta
        datetime(2025, 6, 1, 0, 0, tzinfo=UTC),
        datetime(2025, 6, 14, 12, 0, tzinfo=UTC),
        datetime(2024, 6, 30, 12, 0, tzinfo=UTC),  # more than 12 months ago: not counted
    ]
    for moment in moments:
        learner = make_user(country=indonesia)
        db.session.add(Enrollment(user_id=learner.id, course_id=course.id, completed_at=moment))
    stateless = make_user(country=None)
    db.session.add(Enrollment(user_id=stateless.id, course_id=course.id, completed_at=moments[2]))
    db.session.commit()
    result = reports.completions_by_month(db.session, today=TODAY)
    assert result.months[-1] == date(2025, 6, 1)
    [line] = result.by_course
    assert line.label == "A tour of the course format"
    assert line.counts[-2:] == [1, 3] and line.total == 4
    assert [(c.label, c.counts[-2:]) for c in result.by_country] == [
        ("Indonesia", [1, 2]),
        ("No country", [0, 1]),
    ]


def answer(person, course, answers, *, number: int = 1) -> None:  # noqa: ANN001
    """A submitted attempt at basics/check by the person, with these (question, mark) answers."""
    write_graded_attempt(person, course, answers, number=number)
    mastery.rebuild(db.session)  # answers written directly, not graded: count them all again
    db.session.commit()


def test_mastery_counts_a_question_once_per_provision_group(app, course):
    learner = make_user(country="ID")
    question = db.session.scalar(select(Question).order_by(Question.id).limit(1))
    question.provisions = ["TIP art. 3(a)", "TIP art. 3(c)", "UNTOC art. 5"]
    answer(learner, course, [(question, 0.5)])
    mastery = reports.mastery_by_provision(db.session, country_id=learner.country_id)
    assert [(m.provision, m.answers, m.share) for m in mastery] == [
        ("TIP art. 3", 1, 0.5),
        ("UNTOC art. 5", 1, 0.5),
    ]
    assert reports.mastery_by_provision(db.session, country_id=make_country("TH").id) == []
    other_course = reports.mastery_by_provision(
        db.session, country_id=learner.country_id, course_id=course.id + 1
    )
    assert other_course == []


def test_the_reports_mastery_is_read_from_the_totals_and_always_current(app, course, count_queries):
    indonesia = make_country("ID")
    budi = person(course, country=indonesia)
    question = db.session.scalar(
        select(Question)
        .join(Quiz, Quiz.id == Question.quiz_id)
        .where(Quiz.version_id == course.published_version_id, Question.kind == "short")
    )
    question.provisions = ["UNTOC art. 2(a)"]
    country_id = indonesia.id
    db.session.commit()

    def untoc_2() -> tuple[int, float] | None:
        with count_queries() as counter:
            found = reports.mastery_by_provision(db.session, country_id=country_id)
        [statement] = counter.statements
        assert "mastery_totals" in statement and "question_responses" not in statement
        return next(((m.answers, m.share) for m in found if m.provision == "UNTOC art. 2"), None)

    assert untoc_2() is None
    graded(budi, course, "basics/check", seed=1)
    marks = db.session.scalars(
        select(QuestionResponse.mark).where(QuestionResponse.question_id == question.id)
    ).all()
    assert untoc_2() == (1, marks[0])
    graded(budi, course, "basics/check", seed=2)  # counted at once, not a minute later
    marks = db.session.scalars(
        select(QuestionResponse.mark).where(QuestionResponse.question_id == question.id)
    ).all()
    assert untoc_2() == (2, pytest.approx(sum(marks) / 2))


def test_mastery_sums_the_answers_of_every_learner_of_the_country_and_nobody_else(app, course):
    first, second = db.session.scalars(select(Question).order_by(Question.id).limit(2)).all()
    first.provisions, second.provisions = ["TIP art. 3(a)"], ["UNTOC art. 5"]

    def answered(person, marks: list[float], number: int = 1) -> None:  # noqa: ANN001
        answer(person, course, zip([first, second], marks, strict=False), number=number)

    budi, siti = make_user(country="ID"), make_user(country="ID")
    answered(budi, [1.0, 0.0])
    answered(budi, [1.0, 1.0], number=2)  # every attempt counts
    answered(siti, [0.0])
    answered(make_user(Role.FOCAL_POINT, country="ID"), [1.0, 1.0])  # not a learner
    answered(make_user(country="TH"), [0.0, 0.0])  # another country

    mastery = reports.mastery_by_provision(db.session, country_id=budi.country_id)
    assert [(m.provision, m.answers, m.earned) for m in mastery] == [
        ("TIP art. 3", 3, 2.0),
        ("UNTOC art. 5", 2, 1.0),
    ]
    in_the_course = reports.mastery_by_provision(
        db.session, country_id=budi.country_id, course_id=course.id
    )
    assert in_the_course == mastery


def test_only_the_published_versions_keys_count(app, course):
    learner = make_user(country="ID")
    db.session.add(Enrollment(user_id=learner.id, course_id=course.id))
    for key in ("basics/front-matter", "basics/renamed-away", "practice/scenario"):
        db.session.add(LessonProgress(user_id=learner.id, course_id=course.id, item_key=key))
    db.session.commit()
    [column] = reports.report_columns(
        reports.report_courses(db.session, country_id=learner.country_id)
    )
    assert column.total == 5 and column.has_enrolments
    grid = reports.staff_course_grid(
        db.session, country_id=learner.country_id, courses=[column], today=TODAY
    )
    [row] = grid.rows
    assert row.cells[course.id].text == "In progress 40%"
    whole = reports.staff_course_grid(
        db.session, country_id=learner.country_id, courses=[column], today=TODAY, page_size=None
    )
    assert [r.cells for r in whole.rows] == [row.cells] and whole.pages == 1


def test_the_counted_completions_are_the_unfiltered_rates(app, course):
    done, started, unenrolled = (make_user(country="ID") for _ in range(3))
    inactive, thai = make_user(country="ID"), make_user(country="TH")
    inactive.is_active = False
    for who in (done, started, unenrolled, inactive, thai):
        db.session.add(Enrollment(user_id=who.id, course_id=course.id))
    db.session.flush()
    enrolments = {e.user_id: e for e in db.session.scalars(select(Enrollment))}
    enrolments[done.id].completed_at = datetime(2025, 6, 1, tzinfo=UTC)
    enrolments[thai.id].completed_at = datetime(2025, 6, 1, tzinfo=UTC)
    enrolments[unenrolled.id].unenrolled_at = datetime(2025, 6, 2, tzinfo=UTC)
    db.session.commit()
    country_id = done.country_id
    counted = reports.report_courses(db.session, country_id=country_id, count_completions=True)
    assert [c.completions for c in counted] == [(2, 1)]
    queried = reports.report_courses(db.session, country_id=country_id)
    assert [c.completions for c in queried] == [None]
    assert [c.has_enrolments for c in queried] == [c.has_enrolments for c in counted] == [True]
    for chosen in (False, True):
        from_counts = reports.completion_rates(
            db.session, country_id=country_id, courses=counted, course_chosen=chosen, today=TODAY
        )
        from_query = reports.completion_rates(
            db.session, country_id=country_id, courses=queried, course_chosen=chosen, today=TODAY
        )
        assert [(r.enrolled, r.completed) for r in from_counts] == [(2, 1)]
        assert [(r.enrolled, r.completed) for r in from_query] == [(2, 1)]


def test_the_statements_are_built_once_and_each_country_sees_its_own_staff(app, course):
    indonesian, thai = make_user(country="ID", name="Budi"), make_user(country="TH", name="Somchai")
    db.session.add(Enrollment(user_id=indonesian.id, course_id=course.id))
    db.session.commit()

    def report(country_id: int) -> tuple:
        courses = reports.report_courses(db.session, country_id=country_id, count_completions=True)
        columns = reports.report_columns(courses)
        grid = reports.staff_course_grid(
            db.session, country_id=country_id, courses=columns, today=TODAY
        )
        rates = reports.completion_rates(
            db.session, country_id=country_id, courses=columns, today=TODAY
        )
        names = [row.name for row in grid.rows]
        return names, [(r.enrolled, r.completed) for r in rates], len(grid.rows[0].cells)

    assert report(indonesian.country_id) == (["Budi"], [(1, 0)], 1)
    assert report(thai.country_id) == (["Somchai"], [], 0)
    db.session.add(Enrollment(user_id=thai.id, course_id=course.id))
    db.session.commit()
    assert report(thai.country_id) == (["Somchai"], [(1, 0)], 1)
    assert report(indonesian.country_id) == (["Budi"], [(1, 0)], 1)


def test_a_quiz_passed_counts_only_when_the_published_version_has_it(app, course):
    learner = make_user(country="ID")
    db.session.add(Enrollment(user_id=learner.id, course_id=course.id))
    for key, passed in (("basics/check", True), ("basics/gone", True), ("practice/timed", False)):
        db.session.add(
            QuizAttempt(
                user_id=learner.id,
                course_id=course.id,
                quiz_key=key,
                version_id=course.published_version_id,
                number=1,
                started_at=datetime(2025, 6, 1, tzinfo=UTC),
                submitted_at=datetime(2025, 6, 1, tzinfo=UTC),
                score=90.0 if passed else 10.0,
                passed=passed,
                layout=[],
                answers={},
            )
        )
    db.session.commit()
    columns = reports.report_courses(db.session, country_id=learner.country_id)
    grid = reports.staff_course_grid(
        db.session, country_id=learner.country_id, courses=columns, today=TODAY
    )
    assert grid.rows[0].cells[course.id].text == "In progress 20%"  # 1 of 5 items


def test_a_course_nobody_of_the_country_takes_is_no_column(app, course):
    make_user(country="TH")
    thai = make_user(country="TH")
    db.session.add(Enrollment(user_id=thai.id, course_id=course.id))
    indonesian = make_user(country="ID")
    db.session.commit()
    courses = reports.report_courses(db.session, country_id=indonesian.country_id)
    assert [c.slug for c in courses] == [course.slug]
    assert reports.report_columns(courses) == []
    assert reports.report_columns(courses, course.slug) == courses
