"""Quiz attempts: start, save, submit, grade. Grading happens here, on the server, only.

An attempt fixes its questions and their choice order when it starts (shuffled and drawn
once), so a reload shows the same quiz. Submitting twice grades once. A submission after the
time limit is graded on the answers saved before the deadline (see docs/learning.md).
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    Select,
    bindparam,
    exists,
    func,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.direct_reads import column_keys, loaded
from app.models import (
    AuditEvent,
    Course,
    Enrollment,
    Question,
    QuestionResponse,
    Quiz,
    QuizAttempt,
    User,
    utcnow,
)
from app.services import accounts, audit, catalog, mastery, progress
from app.services.errors import DomainError, NotFound
from app.services.progress import record_completion_if_done, require_enrolment

# Network and clicking take time: a submission this soon after the deadline is still on time.
GRACE = timedelta(seconds=30)
Answers = dict[str, Any]  # question id (str) -> [choice ids] or text


class AttemptRefused(DomainError):
    """No attempt may be started: none left, or the course is not taken."""


class AttemptClosed(DomainError):
    """The attempt was already submitted; it is graded once."""


class InvalidAnswers(DomainError):
    """The submitted form does not match the attempt (forged ids, foreign questions)."""


@dataclass(frozen=True)
class QuestionResult:
    question: Question
    mark: float
    given: Any

    @property
    def correct(self) -> bool:
        return self.mark >= 1.0


def attempts_used(session: Session, learner: User, course: Course, quiz_key: str) -> int:
    return session.scalar(
        select(func.count()).where(
            QuizAttempt.user_id == learner.id,
            QuizAttempt.course_id == course.id,
            QuizAttempt.quiz_key == quiz_key,
        )
    )


def open_attempt(
    session: Session, learner: User, course: Course, quiz_key: str
) -> QuizAttempt | None:
    return session.scalar(
        select(QuizAttempt).where(
            QuizAttempt.user_id == learner.id,
            QuizAttempt.course_id == course.id,
            QuizAttempt.quiz_key == quiz_key,
            QuizAttempt.submitted_at.is_(None),
        )
    )


def start_attempt(
    session: Session,
    learner: User,
    course: Course,
    quiz: Quiz,
    *,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> QuizAttempt:
    """The learner's open attempt at this quiz, or a new one if they have attempts left."""
    now = now or utcnow()
    require_enrolment(session, learner, course)
    existing = open_attempt(session, learner, course, quiz.key)
    if existing is not None and existing.deadline is not None and now > existing.deadline + GRACE:
        # Time ran out on the open attempt: close it on its saved answers, then go on.
        submit_attempt(session, existing, {}, learner=learner, course=course, quiz=quiz, now=now)
        existing = None
    if existing is not None:
        return existing
    used = attempts_used(session, learner, course, quiz.key)
    if quiz.attempts is not None and used >= quiz.attempts:
        raise AttemptRefused(f"You have used all {quiz.attempts} attempts at this quiz.")
    rng = rng or random.SystemRandom()
    questions = list(quiz.questions)
    if quiz.draw and quiz.draw < len(questions):
        questions = rng.sample(questions, quiz.draw)
        questions.sort(key=lambda question: question.position)
    if quiz.shuffle:
        rng.shuffle(questions)
    layout = []
    for question in questions:
        choice_ids = [choice["id"] for choice in question.choices]
        if quiz.shuffle and question.kind != "true_false":
            rng.shuffle(choice_ids)
        layout.append({"question": question.id, "choices": choice_ids})
    attempt = QuizAttempt(
        user_id=learner.id,
        course_id=course.id,
        quiz_key=quiz.key,
        version_id=quiz.version_id,
        number=used + 1,
        started_at=now,
        deadline=now + timedelta(minutes=quiz.time_limit_minutes)
        if quiz.time_limit_minutes
        else None,
        layout=layout,
        answers={},
    )
    try:
        with session.begin_nested():
            session.add(attempt)
            session.flush()
    except IntegrityError:
        # The same learner started in two tabs at once: use the attempt the other one made.
        existing = open_attempt(session, learner, course, quiz.key)
        if existing is None:
            raise AttemptRefused("Please try again.") from None
        return existing
    audit.record(
        session,
        "attempt.started",
        actor=learner,
        target=attempt,
        quiz=quiz.key,
        number=attempt.number,
    )
    return attempt


def attempt_questions(session: Session, attempt: QuizAttempt) -> list[tuple[Question, list[dict]]]:
    """The attempt's questions in its fixed order, each with its choices in the fixed order."""
    ids = [entry["question"] for entry in attempt.layout]
    by_id = {q.id: q for q in session.scalars(select(Question).where(Question.id.in_(ids)))}
    ordered = []
    for entry in attempt.layout:
        question = by_id[entry["question"]]
        choices = {choice["id"]: choice for choice in question.choices}
        ordered.append((question, [choices[choice_id] for choice_id in entry["choices"]]))
    return ordered


def clean_answers(attempt: QuizAttempt, questions: list[Question], raw: Answers) -> Answers:
    """Check a submitted form against the attempt; refuse anything that could not come from it."""
    allowed = {entry["question"]: set(entry["choices"]) for entry in attempt.layout}
    kinds = {question.id: question.kind for question in questions}
    cleaned: Answers = {}
    for key, value in raw.items():
        if not str(key).isdigit() or int(key) not in allowed:
            raise InvalidAnswers("The form contains an answer to a question not in this attempt.")
        question_id = int(key)
        if kinds[question_id] == "short":
            if not isinstance(value, str):
                raise InvalidAnswers("A short-answer question was given several answers.")
            cleaned[str(question_id)] = value[:500]
            continue
        chosen = value if isinstance(value, list) else [value]
        if any(choice not in allowed[question_id] for choice in chosen):
            raise InvalidAnswers("The form contains a choice that does not belong to its question.")
        if kinds[question_id] in ("single", "true_false") and len(chosen) > 1:
            raise InvalidAnswers("A single-choice question was given several answers.")
        cleaned[str(question_id)] = sorted(set(chosen))
    return cleaned


def normalise_text(text: str) -> str:
    """Short answers match ignoring case, accents' composition and extra spaces."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().casefold()


def mark(question: Question, given: Any, *, partial_credit: bool) -> float:
    """The fraction of the question earned by this answer, 0 to 1."""
    if question.kind == "short":
        if not isinstance(given, str):
            return 0.0
        accepted = {normalise_text(answer) for answer in question.accepted_answers}
        return 1.0 if normalise_text(given) in accepted else 0.0
    chosen = set(given or [])
    correct = {choice["id"] for choice in question.choices if choice["correct"]}
    if question.kind == "multiple" and partial_credit:
        wrong = len(chosen - correct)
        right = len(chosen & correct)
        return max(0.0, (right - wrong) / len(correct))
    return 1.0 if chosen == correct else 0.0


def save_answers(
    session: Session, attempt: QuizAttempt, raw: Answers, *, now: datetime | None = None
) -> bool:
    """Keep answers for later; after the deadline nothing is saved. True when saved."""
    now = now or utcnow()
    if attempt.submitted_at is not None:
        raise AttemptClosed("This attempt was already submitted.")
    if attempt.deadline is not None and now > attempt.deadline + GRACE:
        return False
    questions = [question for question, _ in attempt_questions(session, attempt)]
    attempt.answers = clean_answers(attempt, questions, raw)
    attempt.answers_saved_at = now
    session.flush()
    return True


# Built once: composing these statements costs more than running them (submission is hot).
_ATTEMPT_TO_GRADE = (
    select(QuizAttempt, Course)
    .join(Course, Course.id == QuizAttempt.course_id)
    .where(QuizAttempt.id == bindparam("attempt_id"))
)
# On the table, not the mapped class: the attempt's new values are set on it afterwards.
_ATTEMPTS = QuizAttempt.__table__
_CLAIM = (
    update(_ATTEMPTS)
    .where(_ATTEMPTS.c.id == bindparam("attempt_id"), _ATTEMPTS.c.submitted_at.is_(None))
    .values(
        submitted_at=bindparam("graded_at"),
        answers=bindparam("graded_answers"),
        score=bindparam("graded_score"),
        passed=bindparam("graded_passed"),
        submitted_late=bindparam("graded_late"),
    )
)
# With RETURNING, the marks go in one multi-row INSERT on every backend ("insertmanyvalues"),
# rather than one execution per row.
_INSERT_RESPONSES = insert(QuestionResponse.__table__).returning(QuestionResponse.__table__.c.id)


def _submission_statement() -> Select:
    """`_write_submission`'s writes as one PostgreSQL statement: each a WITH clause that writes
    only if the claim did, the claim only while the learner is enrolled. It returns the
    attempt's id and the enrolment's row; no row when nothing was written.

    Five statements in one: four round trips fewer, and a third less of both the worker's and
    the database's time per submission (docs/performance.md, seventh round)."""
    responses = QuestionResponse.__table__
    learner_id = bindparam("learner_id", type_=Integer)
    # No parameter named as a column of a table updated here: it would be SET as well.
    course_id = bindparam("in_course", type_=Integer)
    graded_at = bindparam("graded_at", type_=_ATTEMPTS.c.submitted_at.type)  # the claim's
    touched = progress.touching_enrolment(learner_id, course_id, graded_at)
    enrolled = exists().where(touched.whereclause)
    claim = _CLAIM.where(enrolled).returning(_ATTEMPTS.c.id).cte("claim")
    claimed = select(claim.c.id).exists()
    given = (
        func.unnest(
            bindparam("question_ids", type_=postgresql.ARRAY(Integer)),
            bindparam("marks", type_=postgresql.ARRAY(Float)),
        )
        .table_valued("question_id", "mark")
        .render_derived(name="given")
    )
    marks = insert(responses).from_select(
        ["attempt_id", "question_id", "user_id", "course_id", "mark", "answered_at"],
        select(claim.c.id, given.c.question_id, learner_id, course_id, given.c.mark, graded_at)
        .select_from(claim)
        .join(given, true()),
    )
    summed = (
        func.unnest(
            bindparam("total_question_ids", type_=postgresql.ARRAY(Integer)),
            bindparam("total_answers", type_=postgresql.ARRAY(Integer)),
            bindparam("total_earned", type_=postgresql.ARRAY(Float)),
        )
        .table_valued("question_id", "answers", "earned")
        .render_derived(name="summed")
    )
    added = mastery.adding_rows(
        select(
            bindparam("counted_in", type_=Integer),
            course_id,
            summed.c.question_id,
            summed.c.answers,
            summed.c.earned,
        ).where(claimed)
    )
    events = AuditEvent.__table__
    event = insert(events).from_select(
        list(audit.COLUMNS),
        select(
            *(bindparam(f"event_{name}", type_=events.c[name].type) for name in audit.COLUMNS)
        ).where(claimed),
    )
    enrolment = touched.where(claimed).cte("enrolment")
    return (
        select(claim.c.id, *enrolment.c)
        .select_from(claim.join(enrolment, true()))
        .add_cte(marks.cte("marks"), added.cte("mastery"), event.cte("event"))
    )


_SUBMISSION = _submission_statement()


_ATTEMPT_FIELDS = column_keys(QuizAttempt)
_COURSE_FIELDS = column_keys(Course)
# The same attempt and course after the sign-in lookup's columns, in its statement
# (app.auth.session.read_along_with_sign_in), all None when there is no such attempt: value
# attempt_id. Whose attempt it is stays for the view to check (policy.can_see_attempt).
ATTEMPT_TO_GRADE_WITH_SIGN_IN = accounts.session_read_along(
    lambda signed_in: (
        signed_in.add_columns(
            *(getattr(QuizAttempt, name) for name in _ATTEMPT_FIELDS),
            *(getattr(Course, name) for name in _COURSE_FIELDS),
        )
        .outerjoin(QuizAttempt, QuizAttempt.id == bindparam("attempt_id"))
        .outerjoin(Course, Course.id == QuizAttempt.course_id)
    )
)


def attempt_to_grade(
    session: Session, attempt_id: int, *, read: tuple | None = None
) -> tuple[QuizAttempt, Course, Any] | None:
    """An attempt with its course (one query, or none when `read` is what
    ATTEMPT_TO_GRADE_WITH_SIGN_IN read for it) and its quiz with the questions, all that grading
    reads. The quiz is the attempt's version's, read-only from memory (`cached_quiz_to_grade`);
    None when the attempt, or its quiz, does not exist."""
    if read is not None:
        split = len(_ATTEMPT_FIELDS)
        attempt_values = dict(zip(_ATTEMPT_FIELDS, read[:split], strict=True))
        if attempt_values["id"] is None:  # no such attempt
            return None
        attempt = loaded(session, QuizAttempt, attempt_values)
        course = loaded(session, Course, dict(zip(_COURSE_FIELDS, read[split:], strict=True)))
    else:
        row = session.execute(_ATTEMPT_TO_GRADE, {"attempt_id": attempt_id}).first()
        if row is None:
            return None
        attempt, course = row
    try:
        quiz = catalog.cached_quiz_to_grade(session, attempt.version_id, attempt.quiz_key)
    except NotFound:
        return None
    return attempt, course, quiz


@dataclass(frozen=True)
class _Graded:
    """A graded attempt, as its writes need it."""

    attempt: QuizAttempt
    learner: User
    course: Course
    results: list[QuestionResult]
    answers: Answers
    score: float
    passed: bool
    late: bool
    at: datetime
    event: dict[str, Any]  # the audit event's columns

    def claim_values(self) -> dict[str, Any]:
        return {
            "attempt_id": self.attempt.id,
            "graded_at": self.at,
            "graded_answers": self.answers,
            "graded_score": self.score,
            "graded_passed": self.passed,
            "graded_late": self.late,
        }

    def claimed(self) -> None:
        """The row now holds exactly these values: kept on the object, not reloaded."""
        for name, value in (
            ("submitted_at", self.at),
            ("answers", self.answers),
            ("score", self.score),
            ("passed", self.passed),
            ("submitted_late", self.late),
        ):
            set_committed_value(self.attempt, name, value)


def submit_attempt(
    session: Session,
    attempt: QuizAttempt,
    raw: Answers,
    *,
    learner: User,
    course: Course,
    quiz: Quiz,
    now: datetime | None = None,
) -> list[QuestionResult]:
    """Grade and close the attempt, once. Flushes; the caller commits.

    The writes: the update that claims the attempt, one INSERT of every mark, the marks added
    to the country's mastery totals (a learner with a country), the enrolment's last activity
    and the audit event. On PostgreSQL they go in one statement (`_SUBMISSION`), elsewhere in
    one statement each (`_write_submission`). A pass adds the completion check.
    """
    now = now or utcnow()
    if attempt.submitted_at is not None:
        raise AttemptClosed("This attempt was already submitted.")
    by_id = {question.id: question for question in quiz.questions}
    questions = [by_id[entry["question"]] for entry in attempt.layout]
    late = attempt.deadline is not None and now > attempt.deadline + GRACE
    try:
        answers = attempt.answers if late else clean_answers(attempt, questions, raw)
    except InvalidAnswers as error:
        audit.record(session, "attempt.refused", actor=learner, target=attempt, reason=str(error))
        raise
    results = [
        QuestionResult(
            q,
            mark(q, answers.get(str(q.id)), partial_credit=quiz.partial_credit),
            answers.get(str(q.id)),
        )
        for q in questions
    ]
    score = round(100 * sum(r.mark for r in results) / len(results), 2) if results else 0.0
    passed = score >= quiz.pass_mark
    graded = _Graded(
        attempt=attempt,
        learner=learner,
        course=course,
        results=results,
        answers=answers,
        score=score,
        passed=passed,
        late=late,
        at=now,
        event=audit.event_values(
            "attempt.submitted",
            actor=learner,
            target=attempt,
            country_id=learner.country_id,
            quiz=quiz.key,
            score=score,
            passed=passed,
            late=late,
        ),
    )
    if session.get_bind().dialect.name == "postgresql":
        enrollment = _write_submission_at_once(session, graded)
    else:
        enrollment = _write_submission(session, graded)
    if passed:
        record_completion_if_done(session, learner, course, enrollment, now=now)
    return results


def _write_submission(session: Session, graded: _Graded) -> Enrollment:
    """The writes, one statement each; the enrolment returned."""
    # Claim the attempt: of two submissions at once (double click, two tabs) one grades it.
    if session.execute(_CLAIM, graded.claim_values()).rowcount != 1:
        session.refresh(graded.attempt)
        raise AttemptClosed("This attempt was already submitted.")
    graded.claimed()
    learner, results = graded.learner, graded.results
    if results:
        session.execute(
            _INSERT_RESPONSES,
            [
                {
                    "attempt_id": graded.attempt.id,
                    "question_id": result.question.id,
                    "user_id": learner.id,
                    "course_id": graded.course.id,
                    "mark": result.mark,
                    "answered_at": graded.at,
                }
                for result in results
            ],
        )
        mastery.add_marks(
            session, learner, graded.course.id, [(r.question.id, r.mark) for r in results]
        )
    enrollment = progress.touch_enrolment(session, learner, graded.course, now=graded.at)
    audit.write(session, graded.event)
    session.flush()
    return enrollment


def _write_submission_at_once(session: Session, graded: _Graded) -> Enrollment:
    """The writes in one statement (PostgreSQL); the enrolment returned."""
    learner, results = graded.learner, graded.results
    country_id = mastery.counted_country(learner.role, learner.country_id)
    marks = [(r.question.id, r.mark) for r in results]
    totals = mastery.summed_marks(marks) if country_id is not None else []
    row = session.execute(
        _SUBMISSION,
        {
            **graded.claim_values(),
            "learner_id": learner.id,
            "in_course": graded.course.id,
            "question_ids": [question_id for question_id, _ in marks],
            "marks": [mark for _, mark in marks],
            "counted_in": country_id,
            "total_question_ids": [question_id for question_id, _, _ in totals],
            "total_answers": [answers for _, answers, _ in totals],
            "total_earned": [earned for _, _, earned in totals],
            **{f"event_{name}": value for name, value in graded.event.items()},
        },
    ).first()
    if row is None:  # nothing written: the attempt was submitted already, or not enrolled
        session.refresh(graded.attempt)
        if graded.attempt.submitted_at is not None:
            raise AttemptClosed("This attempt was already submitted.")
        raise progress.NotEnrolled()
    graded.claimed()
    return progress.enrolment_of_row(session, row[1:])


def graded_results(session: Session, attempt: QuizAttempt) -> list[QuestionResult]:
    """The results of a submitted attempt, in its order, from the stored responses."""
    marks = dict(
        session.execute(
            select(QuestionResponse.question_id, QuestionResponse.mark).where(
                QuestionResponse.attempt_id == attempt.id
            )
        ).all()
    )
    return [
        QuestionResult(question, marks.get(question.id, 0.0), attempt.answers.get(str(question.id)))
        for question, _ in attempt_questions(session, attempt)
    ]


def mastery_by_provision(results: list[QuestionResult]) -> list[tuple[str, float, int]]:
    """(provision, share earned 0-1, questions) for the provisions these questions test."""
    totals: dict[str, list[float]] = {}
    for result in results:
        # A question tagged 3(a) and 3(b) counts once under art. 3, as in the reports.
        for group in {provision_group(p) for p in result.question.provisions}:
            totals.setdefault(group, []).append(result.mark)
    return sorted(
        (provision, sum(marks) / len(marks), len(marks)) for provision, marks in totals.items()
    )


def provision_group(provision: str) -> str:
    """'TIP art. 3(a)' and 'TIP art. 3' report together as 'TIP art. 3'."""
    return re.sub(r"\(.*$", "", provision).strip()


def attempts_of(
    session: Session, learner: User, course: Course, quiz_key: str
) -> list[QuizAttempt]:
    return list(
        session.scalars(
            select(QuizAttempt)
            .where(
                QuizAttempt.user_id == learner.id,
                QuizAttempt.course_id == course.id,
                QuizAttempt.quiz_key == quiz_key,
            )
            .order_by(QuizAttempt.number)
        )
    )


def attempts_left(session: Session, learner: User, course: Course, quiz: Quiz) -> int | None:
    """How many more attempts the learner may start; None when unlimited."""
    if quiz.attempts is None:
        return None
    return max(quiz.attempts - attempts_used(session, learner, course, quiz.key), 0)


def seconds_left(attempt: QuizAttempt, *, now: datetime | None = None) -> int | None:
    if attempt.deadline is None:
        return None
    return max(int((attempt.deadline - (now or utcnow())).total_seconds()), 0)
