"""Many learners at once: no progress lost, no duplicate attempt, grade or completion.

50 threads, two per learner, do the same things at the same moment, as two browser tabs or a
double click would: mark the same lessons complete, open the same attempt, submit it twice.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

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
    User,
    utcnow,
)
from app.services import grading, progress
from tests.factories import make_user

LEARNERS = 25
THREADS_PER_LEARNER = 2
LESSONS = ("basics/front-matter", "basics/links-and-code", "practice/scenario")
QUIZZES = ("basics/check", "practice/timed")


def right_answers(attempt: QuizAttempt) -> dict:
    answers = {}
    for question, _ in grading.attempt_questions(db.session, attempt):
        if question.kind == "short":
            answers[str(question.id)] = question.accepted_answers[0]
        else:
            answers[str(question.id)] = [c["id"] for c in question.choices if c["correct"]]
    return answers


def test_fifty_threads_lose_nothing_and_duplicate_nothing(app, database_url, imported_course):
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer at a time; this test is for PostgreSQL (CI runs it)")
    course_id = db.session.scalar(select(Course.id))
    learner_ids = []
    for _ in range(LEARNERS):
        learner = make_user()
        db.session.add(Enrollment(user_id=learner.id, course_id=course_id, enrolled_at=utcnow()))
        learner_ids.append(learner.id)
    db.session.commit()

    errors: list[BaseException] = []
    barriers = {learner_id: threading.Barrier(THREADS_PER_LEARNER) for learner_id in learner_ids}
    start = threading.Barrier(LEARNERS * THREADS_PER_LEARNER)

    def work(learner_id: int) -> None:
        try:
            with app.app_context():
                session = db.session
                learner = session.get(User, learner_id)
                course = session.get(Course, course_id)
                course.published_version  # noqa: B018 - load it before the race
                session.commit()  # hand the connection back to the pool while waiting
                start.wait(timeout=60)
                for key in LESSONS:
                    progress.complete_lesson(session, learner, course, key)
                    session.commit()
                for key in QUIZZES:
                    quiz = session.scalar(
                        select(Quiz).where(
                            Quiz.version_id == course.published_version_id, Quiz.key == key
                        )
                    )
                    attempt = grading.start_attempt(session, learner, course, quiz)
                    session.commit()
                    barriers[learner_id].wait(timeout=60)  # both tabs hold the same attempt
                    try:
                        grading.submit_attempt(
                            session, attempt, right_answers(attempt),
                            learner=learner, course=course, quiz=quiz,
                        )  # fmt: skip
                        session.commit()
                    except grading.AttemptClosed:
                        session.rollback()
                    barriers[learner_id].wait(timeout=60)
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    threads = [
        threading.Thread(target=work, args=(learner_id,))
        for learner_id in learner_ids
        for _ in range(THREADS_PER_LEARNER)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []

    db.session.expire_all()
    count = lambda model, *where: db.session.scalar(  # noqa: E731
        select(func.count()).select_from(model).where(*where)
    )
    assert count(LessonProgress) == LEARNERS * len(LESSONS)
    assert count(QuizAttempt) == LEARNERS * len(QUIZZES)
    assert count(QuizAttempt, QuizAttempt.passed.is_(True)) == LEARNERS * len(QUIZZES)
    questions_per_learner = 4 + 2  # basics/check asks 4, practice/timed draws 2
    assert count(QuestionResponse) == LEARNERS * questions_per_learner
    # Every learner is Indonesian and right: each question's total is its number of answers.
    answered = dict(
        db.session.execute(
            select(QuestionResponse.question_id, func.count()).group_by(
                QuestionResponse.question_id
            )
        ).all()
    )
    totals = db.session.execute(
        select(MasteryTotal.question_id, MasteryTotal.answers, MasteryTotal.earned)
    ).all()
    assert {question: answers for question, answers, _ in totals} == answered
    assert all(earned == answers for _, answers, earned in totals)
    assert count(Enrollment, Enrollment.completed_at.is_not(None)) == LEARNERS
    assert count(AuditEvent, AuditEvent.action == "course.completed") == LEARNERS
