"""Mastery totals: the graded answers of each country's learners, summed per question.

The focal point's report shows the share of the marks earned per provision over every answer
of the country's learners. Summing those answers at each view costs as much as the country is
big (316,000 answers for 5,000 staff), so `MasteryTotal` keeps, per country, course and
question, the number of answers and the marks earned. Every change of the facts under it
goes through here, and keeps it equal to what `totals_from_answers` computes:

- a graded attempt adds its marks to the learner's country (`add_marks`, one upsert);
- a change of country or role moves the person's answers (`move_answers`);
- rows written in bulk (the benchmark's dataset, tests) are followed by `rebuild`.

Only learners with a country count, as in the report: a focal point's or an admin's answers
do not. People and answers are never deleted (accounts are deactivated), so nothing else
changes the totals.

Concurrent transactions on PostgreSQL take the totals' row locks in key order (every
statement writes its rows sorted, countries one after the other in id order), so that two
of them can wait for each other but never deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, Select, delete, func, insert, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models import MasteryTotal, QuestionResponse, Role, User

COLUMNS = ("country_id", "course_id", "question_id", "answers", "earned")
KEY = (MasteryTotal.country_id, MasteryTotal.course_id, MasteryTotal.question_id)
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
_upserts: dict[str, sqlite.Insert | postgresql.Insert] = {}


def counted_country(role: str, country_id: int | None) -> int | None:
    """The country whose totals a person's answers count in: a learner's own, else none."""
    return country_id if role == Role.LEARNER.value else None


def _adding(statement: sqlite.Insert | postgresql.Insert) -> sqlite.Insert | postgresql.Insert:
    """The INSERT, adding its figures to a total already there (ON CONFLICT DO UPDATE)."""
    table = MasteryTotal.__table__
    return statement.on_conflict_do_update(
        index_elements=[table.c[column.key] for column in KEY],
        set_={
            "answers": table.c.answers + statement.excluded.answers,
            "earned": table.c.earned + statement.excluded.earned,
        },
    )


def _upsert(session: Session) -> sqlite.Insert | postgresql.Insert:
    """INSERT INTO mastery_totals ... ON CONFLICT (key) DO UPDATE adding the new figures.

    Built once per database: composing it costs more than running it (quiz submission).
    """
    dialect = session.get_bind().dialect.name
    found = _upserts.get(dialect)
    if found is None:
        # On the table, not the mapped class: a plain INSERT, without the ORM's bulk machinery.
        found = _upserts[dialect] = _adding(_INSERTS[dialect](MasteryTotal.__table__))
    return found


def adding_rows(rows: Select) -> postgresql.Insert:
    """PostgreSQL: an INSERT of `rows` (COLUMNS, sorted by key) into the totals, adding to
    those already there, for a statement that writes more than the totals."""
    return _adding(postgresql.insert(MasteryTotal.__table__).from_select(list(COLUMNS), rows))


def _summed(country: ColumnElement[int], sign: int = 1) -> Select:
    return select(
        country.label("country_id"),
        QuestionResponse.course_id,
        QuestionResponse.question_id,
        (sign * func.count()).label("answers"),
        (sign * func.sum(QuestionResponse.mark)).label("earned"),
    )


def totals_from_answers() -> Select:
    """The totals as the answers give them: (country, course, question, answers, earned).

    The definition the table is kept equal to, and what `rebuild` writes.
    """
    return (
        _summed(User.country_id)
        .join(User, User.id == QuestionResponse.user_id)
        .where(User.role == Role.LEARNER.value, User.country_id.is_not(None))
        .group_by(User.country_id, QuestionResponse.course_id, QuestionResponse.question_id)
    )


def _person_totals(user_id: int, country_id: int, sign: int) -> Select:
    """One person's answers summed per course and question, as rows of a country's totals.

    Read from ix_question_responses_mastery alone; sorted by key, like every write here.
    """
    return (
        _summed(literal(country_id), sign)
        .where(QuestionResponse.user_id == user_id)
        .group_by(QuestionResponse.course_id, QuestionResponse.question_id)
        .order_by(QuestionResponse.course_id, QuestionResponse.question_id)
    )


def add_marks(
    session: Session, learner: User, course_id: int, marks: Iterable[tuple[int, float]]
) -> None:
    """Count the (question id, mark) of a graded attempt in the learner's country: one upsert."""
    country_id = counted_country(learner.role, learner.country_id)
    if country_id is None:
        return
    rows = summed_marks(marks)
    if not rows:
        return
    # The rows as parameters of the statement built once, not as VALUES written into a new
    # statement: that one would be compiled again at every submission (a millisecond).
    session.execute(
        _upsert(session),
        [
            {
                "country_id": country_id,
                "course_id": course_id,
                "question_id": question_id,
                "answers": answers,
                "earned": earned,
            }
            for question_id, answers, earned in rows
        ],
    )


def summed_marks(marks: Iterable[tuple[int, float]]) -> list[tuple[int, int, float]]:
    """(question id, answers, marks earned) of (question id, mark) pairs, by question id: the
    figures `add_marks` adds, in the order every write here takes its rows."""
    by_question: dict[int, list[float]] = {}
    for question_id, mark in marks:
        by_question.setdefault(question_id, []).append(mark)
    return [(question, len(given), sum(given)) for question, given in sorted(by_question.items())]


def move_answers(session: Session, user_id: int, *, before: int | None, after: int | None) -> None:
    """A person's answers leave the totals of country `before` and join those of `after`.

    `before` and `after` are the countries they counted in (`counted_country`), None for not
    counted. Call it in the same transaction as the change of country or role.
    """
    if before == after:
        return
    moves = sorted(
        (country, sign) for country, sign in ((before, -1), (after, 1)) if country is not None
    )
    for country_id, sign in moves:
        session.execute(
            _upsert(session).from_select(COLUMNS, _person_totals(user_id, country_id, sign))
        )
    if before is not None:
        # What nobody of the country answered any more is no row, rather than a row of zeros.
        session.execute(
            delete(MasteryTotal).where(MasteryTotal.country_id == before, MasteryTotal.answers <= 0)
        )


def rebuild(session: Session) -> None:
    """Compute every total again from the answers (after rows were written in bulk)."""
    session.execute(delete(MasteryTotal))
    session.execute(insert(MasteryTotal).from_select(COLUMNS, totals_from_answers()))
