"""Grading on the server: marks, attempts, time limits, completion. No HTTP here."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import (
    AuditEvent,
    Course,
    Enrollment,
    LessonProgress,
    MasteryTotal,
    QuestionResponse,
    Quiz,
    QuizAttempt,
    utcnow,
)
from app.services import certification, grading, progress
from app.services.errors import DomainError
from tests.factories import make_user


@pytest.fixture
def course(imported_course) -> Course:
    return db.session.scalar(select(Course).where(Course.slug == imported_course))


@pytest.fixture
def learner(course):
    person = make_user()
    db.session.add(Enrollment(user_id=person.id, course_id=course.id, enrolled_at=utcnow()))
    db.session.commit()
    return person


def quiz(course: Course, key: str) -> Quiz:
    return db.session.scalar(
        select(Quiz).where(Quiz.version_id == course.published_version_id, Quiz.key == key)
    )


def right_answers(attempt: QuizAttempt) -> dict:
    answers = {}
    for question, _ in grading.attempt_questions(db.session, attempt):
        if question.kind == "short":
            answers[str(question.id)] = question.accepted_answers[0]
        else:
            answers[str(question.id)] = [c["id"] for c in question.choices if c["correct"]]
    return answers


def wrong_answers(attempt: QuizAttempt) -> dict:
    answers = {}
    for question, _ in grading.attempt_questions(db.session, attempt):
        if question.kind == "short":
            answers[str(question.id)] = "no idea"
        else:
            answers[str(question.id)] = [c["id"] for c in question.choices if not c["correct"]][:1]
    return answers


def test_a_lesson_completed_twice_counts_once(course, learner):
    first = progress.complete_lesson(db.session, learner, course, "basics/front-matter")
    again = progress.complete_lesson(db.session, learner, course, "basics/front-matter")
    assert first.first_time and not again.first_time
    assert again.enrollment is first.enrollment
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(LessonProgress)) == 1


def test_progress_needs_an_enrolment_and_a_real_lesson(course):
    stranger = make_user()
    with pytest.raises(progress.NotEnrolled):
        progress.complete_lesson(db.session, stranger, course, "basics/front-matter")


def test_a_quiz_key_is_not_a_lesson_and_marking_it_changes_nothing(course, learner):
    def last_activity():  # noqa: ANN202
        return db.session.scalar(
            select(Enrollment.last_activity_at).where(Enrollment.user_id == learner.id)
        )

    before = last_activity()
    with pytest.raises(DomainError):
        progress.complete_lesson(db.session, learner, course, "basics/check")
    assert last_activity() == before  # the enrolment was not touched either


def test_an_attempt_keeps_its_order_and_a_reload_gives_the_same_attempt(course, learner):
    check = quiz(course, "basics/check")
    first = grading.start_attempt(db.session, learner, course, check, rng=random.Random(1))
    again = grading.start_attempt(db.session, learner, course, check, rng=random.Random(2))
    assert again.id == first.id and again.layout == first.layout
    assert sorted(e["question"] for e in first.layout) == sorted(q.id for q in check.questions)


def test_a_draw_asks_n_questions_from_the_pool(course, learner):
    timed = quiz(course, "practice/timed")
    attempt = grading.start_attempt(db.session, learner, course, timed)
    assert len(attempt.layout) == timed.draw == 2
    assert attempt.deadline is not None


def test_right_answers_pass_and_wrong_ones_fail(course, learner):
    check = quiz(course, "basics/check")
    attempt = grading.start_attempt(db.session, learner, course, check)
    results = grading.submit_attempt(
        db.session, attempt, wrong_answers(attempt), learner=learner, course=course, quiz=check
    )
    assert attempt.score == 0 and attempt.passed is False
    assert [r.correct for r in results] == [False] * 4
    retry = grading.start_attempt(db.session, learner, course, check)
    assert retry.number == 2
    grading.submit_attempt(
        db.session, retry, right_answers(retry), learner=learner, course=course, quiz=check
    )
    assert retry.score == 100 and retry.passed is True
    assert db.session.scalar(select(func.count()).select_from(QuestionResponse)) == 8


def test_short_answers_ignore_case_and_spaces(course, learner):
    check = quiz(course, "basics/check")
    short = next(q for q in check.questions if q.kind == "short")
    assert grading.mark(short, "  THREE ", partial_credit=False) == 1.0
    assert grading.mark(short, "thr ee", partial_credit=False) == 0.0


def test_multiple_response_all_or_nothing_by_default_and_partial_when_asked(course):
    check = quiz(course, "basics/check")
    multiple = next(q for q in check.questions if q.kind == "multiple")
    right = [c["id"] for c in multiple.choices if c["correct"]]
    wrong = [c["id"] for c in multiple.choices if not c["correct"]]
    assert grading.mark(multiple, right, partial_credit=False) == 1.0
    assert grading.mark(multiple, right[:1], partial_credit=False) == 0.0
    assert grading.mark(multiple, right[:1], partial_credit=True) == 0.5
    assert grading.mark(multiple, right[:1] + wrong, partial_credit=True) == 0.0


def test_submitting_twice_grades_once(course, learner):
    check = quiz(course, "basics/check")
    attempt = grading.start_attempt(db.session, learner, course, check)
    answers = right_answers(attempt)
    grading.submit_attempt(db.session, attempt, answers, learner=learner, course=course, quiz=check)
    with pytest.raises(grading.AttemptClosed):
        grading.submit_attempt(
            db.session, attempt, wrong_answers(attempt), learner=learner, course=course, quiz=check
        )
    assert attempt.score == 100
    assert db.session.scalar(select(func.count()).select_from(QuestionResponse)) == 4


def test_forged_choices_and_foreign_questions_are_refused_and_audited(course, learner):
    check = quiz(course, "basics/check")
    attempt = grading.start_attempt(db.session, learner, course, check)
    questions = {q.id: q for q in check.questions}
    choice_question = next(
        e["question"] for e in attempt.layout if questions[e["question"]].choices
    )
    question_id = str(choice_question)
    for forged in ({question_id: ["not-a-choice"]}, {"999999": ["x"]}, {"abc": "x"}):
        with pytest.raises(grading.InvalidAnswers):
            grading.submit_attempt(
                db.session, attempt, forged, learner=learner, course=course, quiz=check
            )
    assert attempt.submitted_at is None and attempt.score is None
    refusals = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "attempt.refused")
    ).all()
    assert len(refusals) == 3
    assert db.session.scalar(select(func.count()).select_from(QuestionResponse)) == 0


def test_no_attempt_after_the_last_allowed(course, learner):
    check = quiz(course, "basics/check")
    assert check.attempts == 3
    for _ in range(3):
        attempt = grading.start_attempt(db.session, learner, course, check)
        grading.submit_attempt(
            db.session, attempt, wrong_answers(attempt), learner=learner, course=course, quiz=check
        )
    with pytest.raises(grading.AttemptRefused):
        grading.start_attempt(db.session, learner, course, check)


def test_a_late_submission_is_graded_on_what_was_saved_in_time(course, learner):
    timed = quiz(course, "practice/timed")
    start = utcnow()
    attempt = grading.start_attempt(db.session, learner, course, timed, now=start)
    saved = right_answers(attempt)
    assert grading.save_answers(db.session, attempt, saved, now=start + timedelta(minutes=5))
    late = start + timedelta(minutes=timed.time_limit_minutes, seconds=31)
    assert not grading.save_answers(db.session, attempt, wrong_answers(attempt), now=late)
    grading.submit_attempt(
        db.session,
        attempt,
        wrong_answers(attempt),
        learner=learner,
        course=course,
        quiz=timed,
        now=late,
    )
    assert attempt.submitted_late and attempt.score == 100


def test_the_best_attempt_counts(course, learner):
    check = quiz(course, "basics/check")
    passed = grading.start_attempt(db.session, learner, course, check)
    grading.submit_attempt(
        db.session, passed, right_answers(passed), learner=learner, course=course, quiz=check
    )
    failed = grading.start_attempt(db.session, learner, course, check)
    grading.submit_attempt(
        db.session, failed, wrong_answers(failed), learner=learner, course=course, quiz=check
    )
    state = progress.course_progress(db.session, learner, course)
    assert "basics/check" in state.passed_quizzes
    assert state.best_scores["basics/check"] == 100


def test_completion_is_recorded_once_with_its_version_and_calls_certification(
    course, learner, monkeypatch
):
    calls = []
    monkeypatch.setattr(
        certification, "on_course_completed", lambda s, e, v: calls.append((e.id, v.id))
    )
    for key in ("basics/front-matter", "basics/links-and-code", "practice/scenario"):
        progress.complete_lesson(db.session, learner, course, key)
    for key in ("basics/check", "practice/timed"):
        attempt = grading.start_attempt(db.session, learner, course, quiz(course, key))
        grading.submit_attempt(
            db.session, attempt, right_answers(attempt), learner=learner, course=course,
            quiz=quiz(course, key),
        )  # fmt: skip
    db.session.commit()
    enrollment = db.session.scalar(select(Enrollment))
    assert enrollment.completed_at is not None
    assert enrollment.completed_version_id == course.published_version_id
    assert calls == [(enrollment.id, course.published_version_id)]
    progress.record_completion_if_done(db.session, learner, course, enrollment, now=utcnow())
    assert len(calls) == 1
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "course.completed")
        )
        == 1
    )


def test_mastery_groups_results_by_provision(course, learner):
    check = quiz(course, "basics/check")
    attempt = grading.start_attempt(db.session, learner, course, check)
    results = grading.submit_attempt(
        db.session, attempt, right_answers(attempt), learner=learner, course=course, quiz=check
    )
    mastery = dict((p, share) for p, share, _ in grading.mastery_by_provision(results))
    assert mastery == {"TIP art. 3": 1.0, "UNTOC art. 2": 1.0}


def test_completing_a_newer_version_records_it_and_calls_certification_again(
    course, learner, monkeypatch
):
    from app.models import CourseVersion
    from app.services import drafts
    from tests.factories import make_user as make

    calls = []
    monkeypatch.setattr(
        certification, "on_course_completed", lambda s, e, v: calls.append(v.number)
    )
    for key in ("basics/front-matter", "basics/links-and-code", "practice/scenario"):
        progress.complete_lesson(db.session, learner, course, key)
    for key in ("basics/check", "practice/timed"):
        attempt = grading.start_attempt(db.session, learner, course, quiz(course, key))
        grading.submit_attempt(
            db.session, attempt, right_answers(attempt), learner=learner, course=course,
            quiz=quiz(course, key),
        )  # fmt: skip
    admin = make(country=None)
    drafts.start_draft(db.session, course, by=admin)
    drafts.create_item(
        db.session, course, module="01-basics", slug="renewal", kind="lesson", title="New", by=admin
    )
    drafts.publish(db.session, course, by=admin)
    db.session.refresh(course)
    assert calls == [1]
    progress.complete_lesson(db.session, learner, course, "basics/renewal")
    enrollment = db.session.scalar(select(Enrollment))
    version = db.session.get(CourseVersion, enrollment.completed_version_id)
    assert (version.number, calls) == (2, [1, 2])


def test_touching_an_enrolment_gives_its_row_as_written(course, learner):
    """The enrolment comes back from the UPDATE itself: the object already in the session is
    given the new time, nothing is left to write, and an unenrolled learner is refused."""
    enrolment = db.session.scalar(select(Enrollment).where(Enrollment.user_id == learner.id))
    assert enrolment.last_activity_at is None
    now = utcnow()
    touched = progress.touch_enrolment(db.session, learner, course, now=now)
    assert touched is enrolment and enrolment.last_activity_at == now
    assert not db.session.dirty
    with pytest.raises(progress.NotEnrolled):
        progress.touch_enrolment(db.session, make_user(), course, now=now)
    db.session.expunge_all()
    assert db.session.scalar(select(Enrollment.last_activity_at)) == now


def test_a_submission_that_loses_the_claim_writes_nothing(course, learner):
    """Another request graded the attempt after this one read it: nothing more is written."""
    check = quiz(course, "basics/check")
    attempt = grading.start_attempt(db.session, learner, course, check)
    db.session.commit()
    db.session.execute(
        update(QuizAttempt)
        .where(QuizAttempt.id == attempt.id)
        .values(submitted_at=utcnow())
        .execution_options(synchronize_session=False)
    )  # as the other request did, unseen by the object read before
    assert attempt.submitted_at is None  # so the claim itself must fail
    with pytest.raises(grading.AttemptClosed):
        grading.submit_attempt(
            db.session, attempt, right_answers(attempt), learner=learner, course=course, quiz=check
        )
    assert db.session.scalar(select(func.count()).select_from(QuestionResponse)) == 0
    assert db.session.scalar(select(func.count()).select_from(MasteryTotal)) == 0
    assert "attempt.submitted" not in db.session.scalars(select(AuditEvent.action)).all()
    assert db.session.scalar(select(Enrollment.last_activity_at)) is None


def test_a_learner_unenrolled_meanwhile_is_refused_and_nothing_is_graded(course, learner):
    check = quiz(course, "basics/check")
    attempt = grading.start_attempt(db.session, learner, course, check)
    db.session.execute(update(Enrollment).values(unenrolled_at=utcnow()))
    db.session.commit()
    with pytest.raises(progress.NotEnrolled):
        grading.submit_attempt(
            db.session, attempt, right_answers(attempt), learner=learner, course=course, quiz=check
        )
    db.session.rollback()  # as the request would
    assert db.session.scalar(select(QuizAttempt.submitted_at)) is None
    assert db.session.scalar(select(func.count()).select_from(QuestionResponse)) == 0
    assert db.session.scalar(select(func.count()).select_from(MasteryTotal)) == 0
