"""Reports on progress: the focal point's staff × course grid, and the admins' analytics.

Every function runs a fixed number of queries whatever the number of staff: the work is done
by GROUP BY in the database and gathered into dicts, never one query per person or course.
Progress follows the rule of `services.progress`: an item counts as done when its lesson is
completed or its quiz passed, by stable key, and only the keys of the published version count.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import NamedTuple

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    Text,
    and_,
    any_,
    bindparam,
    case,
    cast,
    distinct,
    exists,
    false,
    func,
    null,
    or_,
    select,
)
from sqlalchemy.orm import Session

from app.models import (
    Country,
    Course,
    CourseVersion,
    Enrollment,
    LessonProgress,
    MasteryTotal,
    Module,
    Question,
    QuestionResponse,
    Quiz,
    QuizAttempt,
    Role,
    User,
)
from app.services.grading import provision_group

STATUSES = {
    "not_started": "Not started",
    "in_progress": "In progress",
    "completed": "Completed",
    "overdue": "Overdue",
}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
NOT_ENROLLED = "—"
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
REVIEW_BELOW = 0.5


def format_day(day: date) -> str:
    """'03 Mar 2025', the same in every locale."""
    return f"{day.day:02d} {MONTHS[day.month - 1]} {day.year}"


# --- the columns: courses ----------------------------------------------------------------


@dataclass(frozen=True)
class ReportCourse:
    """A published course with the item keys of its published version."""

    id: int
    slug: str
    title: str
    lesson_keys: tuple[str, ...]
    quiz_keys: tuple[str, ...]
    # Someone among the country's active learners is enrolled in it.
    has_enrolments: bool = False
    # (enrolled, completed) among the country's active learners, when `report_courses` was
    # asked to count them: the unfiltered completion rate, with no query of its own.
    completions: tuple[int, int] | None = None

    @property
    def total(self) -> int:
        return len(self.lesson_keys) + len(self.quiz_keys)


def _keys(outline: list[dict], kind: str) -> tuple[str, ...]:
    return tuple(
        item["key"] for module in outline for item in module["items"] if item["kind"] == kind
    )


# The report's statements are built once per process, with bind parameters for what changes
# from one request to the next (country, courses, dates, page): building one and working out
# its cache key cost more than running it. Nothing of any country's data is kept.
COUNTRY = bindparam("country_id", type_=Integer)
COURSE_IDS = bindparam("course_ids", expanding=True, type_=Integer)
TODAY = bindparam("today", type_=Date)
DUE_BEFORE = bindparam("due_before", type_=Date)


def active_learners(country_id: int | ColumnElement[int] = COUNTRY) -> Select:
    """The ids of the country's active learners: the rows of the report."""
    return select(User.id).where(
        User.country_id == country_id,
        User.role == Role.LEARNER.value,
        User.is_active,
        User.pending_approval.is_(False),
    )


def _among(dialect: str, column: ColumnElement, people: Select) -> ColumnElement:
    """`column IN people`, people being a query of ids (such as `active_learners`).

    On PostgreSQL the query is given as one array, `column = ANY(ARRAY(query))`, so that each
    person is looked up in the index that starts with `column` and the cost follows the
    country's rows. As a join or an IN, the planner reads and hashes the whole table instead,
    every country's rows: for the biggest country the report's queries take twice as long,
    and longer as the region grows.
    """
    if dialect == "postgresql":
        return column == any_(func.array(people.scalar_subquery()))
    return column.in_(people)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def report_courses(
    session: Session, *, country_id: int, count_completions: bool = False
) -> list[ReportCourse]:
    """Every published course, marked when the country's learners are enrolled: one query.

    With `count_completions`, each course also says how many of them are enrolled and how many
    completed it, which the unfiltered completion rates are. Counting reads every enrolment of
    the country where "is anyone enrolled" stops at the first, so only the pages that show
    those rates ask for it.
    """
    rows = session.execute(
        _courses_statement(_dialect(session), count_completions), {"country_id": country_id}
    )
    return [
        ReportCourse(
            id=course_id,
            slug=slug,
            title=title,
            lesson_keys=lesson_keys,
            quiz_keys=quiz_keys,
            has_enrolments=bool(enrolled),
            completions=(enrolled or 0, completed or 0) if count_completions else None,
        )
        for course_id, slug, title, outline, enrolled, completed in rows
        for lesson_keys, quiz_keys in [_outline_keys(outline)]
    ]


@lru_cache(maxsize=8)
def _courses_statement(dialect: str, count_completions: bool) -> Select:
    # As an array on PostgreSQL: an IN made it read every user once per course.
    learners = _among(dialect, Enrollment.user_id, active_learners())
    statement = (
        select(
            Course.id,
            Course.slug,
            CourseVersion.title,
            cast(CourseVersion.outline, Text),  # decoded once per process (_outline_keys)
        )
        .join(CourseVersion, Course.published_version_id == CourseVersion.id)
        .where(Course.archived_at.is_(None))
        .order_by(CourseVersion.title, Course.id)
    )
    if count_completions:
        counts = (
            select(
                Enrollment.course_id,
                func.count().label("enrolled"),
                func.count(Enrollment.completed_at).label("completed"),
            )
            .where(learners, Enrollment.unenrolled_at.is_(None))
            .group_by(Enrollment.course_id)
            .subquery()
        )
        return statement.add_columns(counts.c.enrolled, counts.c.completed).outerjoin(
            counts, counts.c.course_id == Course.id
        )
    enrolled = (
        exists()
        .where(Enrollment.course_id == Course.id, Enrollment.unenrolled_at.is_(None), learners)
        .correlate(Course)
    )
    return statement.add_columns(enrolled, null())


@lru_cache(maxsize=256)
def _outline_keys(outline_json: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(lesson keys, quiz keys) of a version's outline, from its JSON text: a published outline
    never changes, so each is decoded once per process, not on every view of the report."""
    outline = json.loads(outline_json)
    return _keys(outline, "lesson"), _keys(outline, "quiz")


def report_columns(courses: Sequence[ReportCourse], course_slug: str = "") -> list[ReportCourse]:
    """The grid's columns: the chosen course, or every course someone of the country takes."""
    if course_slug:
        return [course for course in courses if course.slug == course_slug]
    return [course for course in courses if course.has_enrolments]


# --- the cells --------------------------------------------------------------------------


class Cell(NamedTuple):
    """One learner in one course, as the grid and the CSV show it."""

    status: str  # not_started, in_progress or completed
    percent: int = 0
    completed_on: date | None = None
    overdue: bool = False

    @property
    def label(self) -> str:
        if self.status == "completed" and self.completed_on is not None:
            return f"Completed {format_day(self.completed_on)}"
        if self.status == "in_progress":
            return f"In progress {self.percent}%"
        return STATUSES[self.status]

    @property
    def text(self) -> str:
        return f"{self.label} · Overdue" if self.overdue else self.label


# A country's CSV has tens of thousands of cells but only a few hundred different ones: sharing
# them keeps the allocations (and the garbage collector's passes over them) down.
_shared_cell = lru_cache(maxsize=4096)(Cell)


@dataclass
class StaffRow:
    user_id: int
    name: str
    email: str
    cells: dict[int, Cell] = field(default_factory=dict)

    def cells_for(self, courses: Sequence[ReportCourse]) -> list[Cell | None]:
        return [self.cells.get(course.id) for course in courses]


@dataclass
class Grid:
    rows: list[StaffRow]
    total: int
    page: int
    page_size: int | None

    @property
    def pages(self) -> int:
        if not self.page_size:
            return 1
        return max((self.total + self.page_size - 1) // self.page_size, 1)


def make_cell(
    *,
    done: int,
    total: int,
    completed_at: datetime | None,
    active: bool,
    due_on: date | None,
    today: date,
) -> Cell:
    """The status rule, the same as `_status_condition` says in SQL.

    `active`: the enrolment has a last activity (a failed quiz starts a course too).
    """
    if completed_at is not None:
        return _shared_cell("completed", 100, completed_at.astimezone(UTC).date(), False)
    overdue = due_on is not None and due_on < today
    if done == 0 and not active:
        return _shared_cell("not_started", 0, None, overdue)
    percent = round(100 * done / total) if total else 0
    return _shared_cell("in_progress", percent, None, overdue)


PublishedItems = tuple[tuple[int, tuple[str, ...], tuple[str, ...]], ...]


def _published_items(courses: Sequence[ReportCourse]) -> PublishedItems:
    """(course id, lesson keys, quiz keys) of the columns: what the statements are built for.

    The keys are written into the statements (catalogue data, the same for every country)
    rather than joined from the lessons and quizzes of each published version: joined,
    PostgreSQL looked through the quizzes once per enrolment, and the biggest country's CSV
    took twice as long.
    """
    return tuple((course.id, course.lesson_keys, course.quiz_keys) for course in courses)


def _current_keys(
    course_column: ColumnElement, key_column: ColumnElement, courses: Iterable[tuple[int, tuple]]
) -> ColumnElement[bool]:
    """(course = X AND key IN (X's current keys)) OR ...: only the published items count."""
    terms = [and_(course_column == cid, key_column.in_(keys)) for cid, keys in courses if keys]
    return or_(*terms) if terms else false()


def _lessons_done(items: PublishedItems) -> Select:
    """The enrolment's lessons done that its course's published version has (by stable key)."""
    return (
        select(LessonProgress.item_key)
        .where(
            LessonProgress.user_id == Enrollment.user_id,
            LessonProgress.course_id == Enrollment.course_id,
            _current_keys(
                LessonProgress.course_id,
                LessonProgress.item_key,
                ((course_id, lessons) for course_id, lessons, _ in items),
            ),
        )
        .correlate(Enrollment)
    )


def _quizzes_passed(items: PublishedItems) -> Select:
    """The enrolment's passed attempts at quizzes its course's published version has."""
    return (
        select(QuizAttempt.quiz_key)
        .where(
            QuizAttempt.course_id == Enrollment.course_id,
            QuizAttempt.user_id == Enrollment.user_id,
            QuizAttempt.passed.is_(True),
            _current_keys(
                QuizAttempt.course_id,
                QuizAttempt.quiz_key,
                ((course_id, quizzes) for course_id, _, quizzes in items),
            ),
        )
        .correlate(Enrollment)
    )


def _status_condition(status: str | None, items: PublishedItems) -> ColumnElement[bool] | None:
    """The SQL form of `make_cell`, about the Enrollment row of the enclosing query."""
    not_completed = Enrollment.completed_at.is_(None)
    if status == "completed":
        return Enrollment.completed_at.is_not(None)
    if status == "overdue":
        return and_(not_completed, Enrollment.due_on.is_not(None), Enrollment.due_on < TODAY)
    if status in ("not_started", "in_progress"):
        # EXISTS on the unique (user, course, key) index, not a count: "anything done?"
        started = or_(
            Enrollment.last_activity_at.is_not(None),
            _lessons_done(items).exists(),
            _quizzes_passed(items).exists(),
        )
        return and_(not_completed, started if status == "in_progress" else ~started)
    return None


@lru_cache(maxsize=64)
def _filtered_staff(
    items: PublishedItems, status: str | None, course_chosen: bool, due_filter: bool
) -> Select:
    """The ids of the staff the filters keep (a subquery for the page, the CSV and the rates).

    With no filter every active learner is a row, enrolled or not, so the focal point sees who
    has no course yet; a course, status or due date keeps those with a matching enrolment.
    Its parameters are those of `_parameters`.
    """
    statement = active_learners()
    conditions = [
        Enrollment.user_id == User.id,
        Enrollment.unenrolled_at.is_(None),
        Enrollment.course_id.in_(COURSE_IDS),
    ]
    condition = _status_condition(status, items)
    if condition is not None:
        conditions.append(condition)
    if due_filter:
        conditions.extend([Enrollment.due_on.is_not(None), Enrollment.due_on < DUE_BEFORE])
    if course_chosen or condition is not None or due_filter:
        statement = statement.where(exists().where(*conditions).correlate(User))
    return statement


def _parameters(
    country_id: int, courses: Sequence[ReportCourse], today: date, due_before: date | None
) -> dict:
    return {
        "country_id": country_id,
        "course_ids": [course.id for course in courses],
        "today": today,
        "due_before": due_before,
    }


@lru_cache(maxsize=128)
def _grid_statement(
    items: PublishedItems, status: str | None, course_chosen: bool, due_filter: bool, paged: bool
) -> Select:
    """The page of staff as a subquery, each person's enrolments in the columns joined to it,
    each with its lessons done and quizzes passed counted beside it."""
    people = (
        _filtered_staff(items, status, course_chosen, due_filter)
        .with_only_columns(
            User.id,
            User.display_name,
            User.email,
            func.count().over().label("total"),
            func.lower(User.display_name).label("sort_name"),
        )
        .order_by(func.lower(User.display_name), User.id)
    )
    if paged:
        people = people.limit(bindparam("limit")).offset(bindparam("offset"))
    people = people.subquery()
    statement = select(people.c.id, people.c.display_name, people.c.email, people.c.total)
    if items:
        done = (
            _lessons_done(items).with_only_columns(func.count()).scalar_subquery()
            + _quizzes_passed(items)
            .with_only_columns(func.count(distinct(QuizAttempt.quiz_key)))
            .scalar_subquery()
        )
        statement = statement.add_columns(
            Enrollment.course_id,
            Enrollment.due_on,
            Enrollment.completed_at,
            Enrollment.last_activity_at.is_not(None),
            done,
        ).outerjoin(
            Enrollment,
            and_(
                Enrollment.user_id == people.c.id,
                Enrollment.course_id.in_(COURSE_IDS),
                Enrollment.unenrolled_at.is_(None),
            ),
        )
    return statement.order_by(people.c.sort_name, people.c.id)


def staff_course_grid(
    session: Session,
    *,
    country_id: int,
    courses: Sequence[ReportCourse],
    course_chosen: bool = False,
    status: str | None = None,
    due_before: date | None = None,
    today: date,
    page: int = 1,
    page_size: int | None = 100,
) -> Grid:
    """One page of the grid (all of it when page_size is None): one query, whatever its size."""
    due_filter = due_before is not None
    parameters = _parameters(country_id, courses, today, due_before)
    if page_size:
        parameters.update(limit=page_size, offset=(page - 1) * page_size)
    items = _published_items(courses)
    statement = _grid_statement(items, status, course_chosen, due_filter, bool(page_size))
    found = session.execute(statement, parameters).all()
    if found:
        total = found[0][3]
    elif page > 1:  # past the last page: still say how many there are
        staff = _filtered_staff(items, status, course_chosen, due_filter)
        total = session.scalar(select(func.count()).select_from(staff.subquery()), parameters)
    else:
        total = 0
    return Grid(
        rows=_staff_rows(found, courses, today), total=total or 0, page=page, page_size=page_size
    )


def _staff_rows(found: Sequence, courses: Sequence[ReportCourse], today: date) -> list[StaffRow]:
    """The grid's rows from the query's: one per person, then one per enrolment of theirs."""
    totals = {course.id: course.total for course in courses}
    rows: list[StaffRow] = []
    row = None
    for user_id, name, email, _, *enrolment in found:
        if row is None or row.user_id != user_id:
            row = StaffRow(user_id, name, email)
            rows.append(row)
        if enrolment and enrolment[0] is not None:
            course_id, due_on, completed_at, active, done = enrolment
            row.cells[course_id] = make_cell(
                done=done,
                total=totals[course_id],
                completed_at=completed_at,
                active=bool(active),
                due_on=due_on,
                today=today,
            )
    return rows


# --- above the grid: completion rates and mastery ----------------------------------------


@dataclass(frozen=True)
class CompletionRate:
    course: ReportCourse
    enrolled: int
    completed: int

    @property
    def share(self) -> float | None:
        return self.completed / self.enrolled if self.enrolled else None


def completion_rates(
    session: Session,
    *,
    country_id: int,
    courses: Sequence[ReportCourse],
    course_chosen: bool = False,
    status: str | None = None,
    due_before: date | None = None,
    today: date,
) -> list[CompletionRate]:
    """Completed / enrolled per course, over every filtered learner (not one page).

    Without a status or due date filter these are the counts `report_courses` made for the
    same country, when asked to (a chosen course keeps the staff enrolled in it: the same
    enrolments), so no query; otherwise one query.
    """
    if not courses:
        return []
    if status is None and due_before is None and all(c.completions is not None for c in courses):
        return [CompletionRate(course, *course.completions) for course in courses]
    statement = _rates_statement(
        _dialect(session), _published_items(courses), status, course_chosen, due_before is not None
    )
    counts = {
        course_id: (enrolled, completed)
        for course_id, enrolled, completed in session.execute(
            statement, _parameters(country_id, courses, today, due_before)
        )
    }
    return [CompletionRate(course, *counts.get(course.id, (0, 0))) for course in courses]


@lru_cache(maxsize=64)
def _rates_statement(
    dialect: str, items: PublishedItems, status: str | None, course_chosen: bool, due_filter: bool
) -> Select:
    staff = _filtered_staff(items, status, course_chosen, due_filter)
    return (
        select(Enrollment.course_id, func.count(), func.count(Enrollment.completed_at))
        .where(
            _among(dialect, Enrollment.user_id, staff),
            # "+ 0": find the enrolments through the country's staff (the user index), not
            # through every enrolment of each course in the region, which SQLite's planner
            # would otherwise pick: the cost follows the country's size, not the region's.
            (Enrollment.course_id + 0).in_(COURSE_IDS),
            Enrollment.unenrolled_at.is_(None),
        )
        .group_by(Enrollment.course_id)
    )


@dataclass(frozen=True)
class Mastery:
    provision: str
    answers: int
    earned: float

    @property
    def share(self) -> float:
        return self.earned / self.answers if self.answers else 0.0


def mastery_by_provision(
    session: Session, *, country_id: int, course_id: int | None = None
) -> list[Mastery]:
    """Share of marks earned per provision over the answers of the country's learners.

    One query of the country's mastery totals (`services.mastery`, kept up to date at every
    graded attempt), summed per list of provisions, whatever the number of answers. Each
    list's totals are added to the groups of its provisions (a question testing art. 3(a) and
    art. 3(b) counts once for art. 3).
    """
    parameters = {"country_id": country_id, "course_id": course_id}
    groups: dict[str, list[float]] = {}
    statement = _mastery_statement(by_course=course_id is not None)
    for provisions_json, answers, earned in session.execute(statement, parameters):
        for group in _provision_groups(provisions_json):
            totals = groups.setdefault(group, [0, 0.0])
            totals[0] += answers
            totals[1] += float(earned or 0)
    return [
        Mastery(provision, int(answers), earned)
        for provision, (answers, earned) in sorted(groups.items())
    ]


@lru_cache(maxsize=2)
def _mastery_statement(*, by_course: bool) -> Select:
    # Summed per list of provisions in the database (as JSON text: a few dozen different lists,
    # against hundreds of questions), each list turned into its groups once per process.
    provisions = cast(Question.provisions, Text)
    statement = (
        select(provisions, func.sum(MasteryTotal.answers), func.sum(MasteryTotal.earned))
        .join(Question, Question.id == MasteryTotal.question_id)
        .where(MasteryTotal.country_id == COUNTRY)
        .group_by(provisions)
    )
    if by_course:
        statement = statement.where(MasteryTotal.course_id == bindparam("course_id"))
    return statement


@lru_cache(maxsize=1024)
def _provision_groups(provisions_json: str | None) -> frozenset[str]:
    return frozenset(provision_group(p) for p in json.loads(provisions_json or "null") or [])


# --- CSV ---------------------------------------------------------------------------------


def neutralise(value: str) -> str:
    """A leading apostrophe, so that a spreadsheet shows the text instead of running it."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


@lru_cache(maxsize=4096)
def _csv_cell(cell: Cell | None) -> str:
    """A cell's CSV text: the cells are shared, so each different one is written out once."""
    return neutralise(NOT_ENROLLED if cell is None else cell.text)


def csv_rows(rows: Iterable[StaffRow], courses: Sequence[ReportCourse]) -> Iterator[list[str]]:
    """The grid as CSV rows, header first, every cell safe to open in a spreadsheet."""
    yield [neutralise(text) for text in ["Name", "Email", *(c.title for c in courses)]]
    for row in rows:
        yield [neutralise(row.name), neutralise(row.email), *map(_csv_cell, row.cells_for(courses))]


def csv_text(rows: Iterable[list[str]]) -> str:
    """UTF-8 text with a byte order mark, so that spreadsheets read the names right."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


# --- admin analytics ---------------------------------------------------------------------


def last_months(today: date, count: int = 12) -> list[date]:
    """The first days of the last `count` months, oldest first, this month last."""
    months = []
    year, month = today.year, today.month
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def month_label(month: date) -> str:
    return f"{MONTHS[month.month - 1]} {month.year}"


@dataclass
class CompletionLine:
    label: str
    counts: list[int]

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass
class Completions:
    months: list[date]
    by_course: list[CompletionLine]
    by_country: list[CompletionLine]


def _month_start(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=UTC)


def completions_by_month(session: Session, *, today: date, months: int = 12) -> Completions:
    """Courses completed per course and per country, month by month (UTC): three queries.

    The month is a CASE over UTC month boundaries computed here, so that SQLite and PostgreSQL
    (whatever its session time zone) group the same way.
    """
    starts = last_months(today, months)
    bounds = [_month_start(month) for month in starts]
    end = _month_start(date(today.year + (today.month == 12), today.month % 12 + 1, 1))
    month_index = case(
        *(
            (Enrollment.completed_at < upper, index)
            for index, upper in enumerate([*bounds[1:], end])
        ),
        else_=len(starts) - 1,
    )
    # Grouped in an outer query: PostgreSQL would not see that a CASE with bound parameters in
    # GROUP BY is the same expression as the one selected.
    completed = (
        select(Enrollment.course_id, User.country_id, month_index.label("month"))
        .join(User, User.id == Enrollment.user_id)
        .where(Enrollment.completed_at >= bounds[0], Enrollment.completed_at < end)
        .subquery()
    )
    grouped = session.execute(
        select(
            completed.c.course_id, completed.c.country_id, completed.c.month, func.count()
        ).group_by(completed.c.course_id, completed.c.country_id, completed.c.month)
    ).all()
    course_ids = {course_id for course_id, _, _, _ in grouped}
    country_ids = {country_id for _, country_id, _, _ in grouped if country_id is not None}
    course_titles = dict(
        session.execute(
            select(Course.id, func.coalesce(CourseVersion.title, Course.slug))
            .outerjoin(CourseVersion, Course.published_version_id == CourseVersion.id)
            .where(Course.id.in_(course_ids))
        ).all()
    )
    country_names = dict(
        session.execute(select(Country.id, Country.name).where(Country.id.in_(country_ids))).all()
    )
    by_course: dict[str, list[int]] = {}
    by_country: dict[str, list[int]] = {}
    for course_id, country_id, index, count in grouped:
        course = course_titles.get(course_id, f"Course {course_id}")
        country = country_names.get(country_id, "No country")
        by_course.setdefault(course, [0] * len(starts))[index] += count
        by_country.setdefault(country, [0] * len(starts))[index] += count
    return Completions(
        months=starts,
        by_course=[CompletionLine(label, counts) for label, counts in sorted(by_course.items())],
        by_country=[CompletionLine(label, counts) for label, counts in sorted(by_country.items())],
    )


@dataclass(frozen=True)
class QuestionStat:
    question_id: int
    stem_html: str
    quiz_title: str
    course_title: str
    answers: int
    right: int

    @property
    def share(self) -> float | None:
        return self.right / self.answers if self.answers else None

    @property
    def needs_review(self) -> bool:
        return self.share is not None and self.share < REVIEW_BELOW


def question_statistics(session: Session) -> list[QuestionStat]:
    """Every question of the published versions with its answers and share right, weakest
    first; questions nobody answered yet come last. One query."""
    published = (
        select(Question.id)
        .join(Quiz, Quiz.id == Question.quiz_id)
        .join(Course, Course.published_version_id == Quiz.version_id)
        .where(Course.archived_at.is_(None))
    )
    stats = (
        select(
            QuestionResponse.question_id,
            func.count().label("answers"),
            func.sum(case((QuestionResponse.mark >= 1, 1), else_=0)).label("correct"),
        )
        .where(QuestionResponse.question_id.in_(published))
        .group_by(QuestionResponse.question_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Question.id,
            Question.stem_html,
            Quiz.title,
            CourseVersion.title,
            stats.c.answers,
            stats.c.correct,
        )
        .join(Quiz, Quiz.id == Question.quiz_id)
        .join(Course, Course.published_version_id == Quiz.version_id)
        .join(CourseVersion, CourseVersion.id == Quiz.version_id)
        .join(Module, Module.id == Quiz.module_id)
        .outerjoin(stats, stats.c.question_id == Question.id)
        .where(Course.archived_at.is_(None))
        .order_by(CourseVersion.title, Course.id, Module.position, Quiz.position, Question.position)
    )
    found = [
        QuestionStat(qid, stem, quiz, course, int(answers or 0), int(right or 0))
        for qid, stem, quiz, course, answers, right in rows
    ]
    # Stable sort: among equal shares the course order stays.
    return sorted(found, key=lambda stat: (stat.share is None, stat.share or 0.0, -stat.answers))
