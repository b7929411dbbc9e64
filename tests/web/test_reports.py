"""The focal point's progress report (page and CSV) and the admins' analytics, over HTTP."""

from __future__ import annotations

import csv
import io
import re
import shutil
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from flask import url_for
from sqlalchemy import insert, select

from app.authoring.importer import import_course_folder
from app.extensions import db
from app.models import (
    Course,
    Enrollment,
    LessonProgress,
    Question,
    Quiz,
    Role,
    User,
    utcnow,
)
from app.services import mastery
from app.services.reports import neutralise
from tests.conftest import FIXTURE_COURSES
from tests.factories import make_country, make_user, sign_in, write_graded_attempt
from tests.web.test_learning import answer_form
from tests.web.test_quiz_submit_cost import open_attempt

TODAY = utcnow().date()
YESTERDAY = TODAY - timedelta(days=1)
NEXT_MONTH = TODAY + timedelta(days=30)
COMPLETED = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)


class TableReader(HTMLParser):
    """The text of every row of the tables with a given class, cell by cell."""

    def __init__(self, table_class: str) -> None:
        super().__init__()
        self.table_class = table_class
        self.inside = False
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        if tag == "table" and self.table_class in (dict(attrs).get("class") or "").split():
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th") and self.rows:
            self.cell = []

    def handle_endtag(self, tag):  # noqa: ANN001
        if tag == "table":
            self.inside = False
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(re.sub(r"\s+", " ", "".join(self.cell)).strip())
            self.cell = None

    def handle_data(self, data):  # noqa: ANN001
        if self.cell is not None:
            self.cell.append(data)


def table(html: str, table_class: str = "report-grid") -> list[list[str]]:
    reader = TableReader(table_class)
    reader.feed(html)
    return reader.rows


def section(html: str, heading: str) -> list[list[str]]:
    """The rows of the table under an <h2> heading."""
    return table(html.split(f"<h2>{heading}</h2>")[1].split("<h2>")[0], "data")


def grid(response) -> dict[str, list[str]]:
    """Rows of the grid by name: [email, cell, cell, ...]."""
    assert response.status_code == 200, response.status_code
    rows = table(response.get_data(as_text=True))
    return {row[0]: row[1:] for row in rows[1:]}


def read_csv(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


@pytest.fixture
def staff(app, imported_course):
    """Indonesia's staff in the sample course, one of each status; a Thai learner too."""
    course = db.session.scalar(select(Course).where(Course.slug == imported_course))
    indonesia = make_country("ID", "Indonesia")
    thailand = make_country("TH", "Thailand")
    people = {
        "focal": make_user(Role.FOCAL_POINT, country=indonesia, name="Fitri Focal"),
        "ana": make_user(country=indonesia, name="Ana Completed"),
        "budi": make_user(country=indonesia, name="Budi Progress"),
        "citra": make_user(country=indonesia, name="Citra Fresh"),
        "dewi": make_user(country=indonesia, name="Dewi Late"),
        "eko": make_user(country=indonesia, name="Eko Unenrolled"),
        "gone": make_user(country=indonesia, name="Gita Deactivated", active=False),
        "thai": make_user(country=thailand, name="Somchai Thai"),
    }
    enrolments = {
        "ana": {"completed_at": COMPLETED, "last_activity_at": COMPLETED, "due_on": YESTERDAY},
        "budi": {"last_activity_at": utcnow(), "due_on": YESTERDAY},
        "citra": {"due_on": NEXT_MONTH},
        "dewi": {"due_on": YESTERDAY},
        "gone": {},
        "thai": {"due_on": YESTERDAY},
    }
    for name, values in enrolments.items():
        db.session.add(Enrollment(user_id=people[name].id, course_id=course.id, **values))
    budi = people["budi"]
    for key in ("basics/front-matter", "basics/links-and-code", "old-module/removed-lesson"):
        db.session.add(LessonProgress(user_id=budi.id, course_id=course.id, item_key=key))
    questions = db.session.scalars(
        select(Question)
        .join(Quiz, Quiz.id == Question.quiz_id)
        .where(Quiz.version_id == course.published_version_id, Quiz.key == "basics/check")
        .order_by(Question.position)
    ).all()
    marks = list(zip(questions, [1.0, 0.5, 0.0, 1.0], strict=True))
    write_graded_attempt(budi, course, marks, passed=True)
    write_graded_attempt(budi, course, [], number=2, passed=True)  # passed twice counts once
    write_graded_attempt(budi, course, [], quiz_key="practice/timed", passed=False)
    write_graded_attempt(people["thai"], course, [(questions[0], 0.0)], passed=False)
    mastery.rebuild(db.session)  # answers written directly, not graded: count them all again
    db.session.commit()
    return {"course": course, "questions": questions, **people}


def signed_in(app, person):
    client = app.test_client()
    sign_in(client, person)
    return client


def test_the_grid_shows_each_persons_status_and_percentage(app, staff):
    client = signed_in(app, staff["focal"])
    rows = grid(client.get("/focal/report"))
    assert rows == {
        "Ana Completed": [staff["ana"].email, "Completed 03 Mar 2025"],
        "Budi Progress": [staff["budi"].email, "In progress 60% · Overdue"],
        "Citra Fresh": [staff["citra"].email, "Not started"],
        "Dewi Late": [staff["dewi"].email, "Not started · Overdue"],
        "Eko Unenrolled": [staff["eko"].email, "—"],
    }
    html = client.get("/focal/report").get_data(as_text=True)
    header = table(html)[0]
    assert header == ["Name", "Email", "A tour of the course format"]
    assert 'class="overdue">Overdue</strong>' in html


def test_each_row_links_to_the_persons_page(app, staff):
    client = signed_in(app, staff["focal"])
    html = client.get("/focal/report").get_data(as_text=True)
    budi = staff["budi"]
    with app.test_request_context():
        link = url_for("focal.person", user_id=budi.id)
    assert f'<a href="{link}">Budi Progress</a>' in html
    assert client.get(link).status_code == 200


def test_completion_rates_and_mastery_are_above_the_grid(app, staff):
    client = signed_in(app, staff["focal"])
    html = client.get("/focal/report").get_data(as_text=True)
    rates = section(html, "Completion by course")
    # 4 enrolled among the country's active learners (not the deactivated one), 1 completed.
    assert rates[1] == ["A tour of the course format", "4", "1", "25%"]
    mastery = section(html, "Mastery by provision")
    # TIP art. 3, 3 and 3(b) report together: marks 1 + 0.5 + 0 over 3 answers. The Thai
    # learner's answer belongs to another country.
    assert mastery[1:] == [["TIP art. 3", "3", "50%"], ["UNTOC art. 2", "1", "100%"]]


def test_the_mastery_panel_counts_an_answer_as_soon_as_it_is_graded(app, staff):
    focal = signed_in(app, staff["focal"])

    def mastery() -> list[list[str]]:
        html = focal.get("/focal/report").get_data(as_text=True)
        return section(html, "Mastery by provision")[1:]

    assert mastery() == [["TIP art. 3", "3", "50%"], ["UNTOC art. 2", "1", "100%"]]
    budi = signed_in(app, staff["budi"])
    attempt_url, html = open_attempt(budi, "/courses/format-tour/basics/check")
    assert budi.post(attempt_url, data=answer_form(html, right=True)).status_code == 302
    # Four right answers more: 1 + 0.5 + 0 + 3 over 6 answers, and 2 over 2.
    assert mastery() == [["TIP art. 3", "6", "75%"], ["UNTOC art. 2", "2", "100%"]]


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("status=completed", {"Ana Completed"}),
        ("status=in_progress", {"Budi Progress"}),
        ("status=not_started", {"Citra Fresh", "Dewi Late"}),
        ("status=overdue", {"Budi Progress", "Dewi Late"}),
        (f"due_before={TODAY.isoformat()}", {"Ana Completed", "Budi Progress", "Dewi Late"}),
        (f"status=not_started&due_before={TODAY.isoformat()}", {"Dewi Late"}),
        ("course=format-tour", {"Ana Completed", "Budi Progress", "Citra Fresh", "Dewi Late"}),
    ],
)
def test_filters_keep_the_matching_staff(app, staff, query, names):
    client = signed_in(app, staff["focal"])
    assert set(grid(client.get(f"/focal/report?{query}"))) == names


def test_the_rates_follow_the_filters(app, staff):
    client = signed_in(app, staff["focal"])
    html = client.get("/focal/report?status=overdue").get_data(as_text=True)
    rates = section(html, "Completion by course")
    assert rates[1] == ["A tour of the course format", "2", "0", "0%"]


def test_a_bad_filter_is_said_and_ignored(app, staff):
    client = signed_in(app, staff["focal"])
    response = client.get("/focal/report?due_before=next+week&status=lost")
    html = response.get_data(as_text=True)
    assert "Enter the due date as year-month-day" in html
    assert "Choose a status from the list." in html
    assert len(grid(response)) == 5
    unknown = client.get("/focal/report?course=no-such-course").get_data(as_text=True)
    assert "That course is not published." in unknown


def test_a_focal_point_never_sees_another_countrys_staff(app, staff):
    thailand = make_country("TH")
    client = signed_in(app, staff["focal"])
    for url in ("/focal/report", f"/focal/report?country={thailand.id}"):
        rows = grid(client.get(url))
        assert "Somchai Thai" not in rows and "Ana Completed" in rows
    exported = client.get(f"/focal/report.csv?country={thailand.id}").get_data(as_text=True)
    assert "Somchai" not in exported and "Ana Completed" in exported


def test_an_admin_chooses_any_country(app, staff):
    admin = make_user(Role.ADMIN, country=None)
    client = signed_in(app, admin)
    assert "Choose a country" in client.get("/focal/report").get_data(as_text=True)
    assert client.get("/focal/report.csv").status_code == 302
    thailand = make_country("TH")
    rows = grid(client.get(f"/focal/report?country={thailand.id}"))
    assert rows == {"Somchai Thai": [staff["thai"].email, "Not started · Overdue"]}
    assert client.get("/focal/report?country=999999").status_code == 404


def test_learners_may_not_see_the_report_and_visitors_must_sign_in(app, staff):
    client = signed_in(app, staff["ana"])
    assert client.get("/focal/report").status_code == 403
    assert client.get("/focal/report.csv").status_code == 403
    assert client.get("/admin/analytics").status_code == 403
    focal = signed_in(app, staff["focal"])
    assert focal.get("/admin/analytics").status_code == 403
    anonymous = app.test_client().get("/focal/report.csv")
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["Location"]


def test_the_csv_is_the_grid_with_every_row(app, staff):
    staff["eko"].display_name = '=HYPERLINK("http://x")'
    db.session.commit()
    client = signed_in(app, staff["focal"])
    for query in ("", "?status=overdue", "?course=format-tour"):
        page = client.get(f"/focal/report{query}")
        response = client.get(f"/focal/report.csv{query}")
        assert response.status_code == 200
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        shown = [[neutralise(text) for text in row] for row in table(page.get_data(as_text=True))]
        assert read_csv(response) == shown
    rows = read_csv(client.get("/focal/report.csv"))
    assert ['\'=HYPERLINK("http://x")', staff["eko"].email, "—"] in rows


def test_the_csv_has_every_row_when_the_page_has_only_50(app, staff):
    country = make_country("ID")
    db.session.execute(
        insert(User),
        [
            {
                "email": f"bulk{number}@example.go.id",
                "display_name": f"Bulk {number:04d}",
                "role": "learner",
                "country_id": country.id,
            }
            for number in range(100)
        ],
    )
    db.session.commit()
    client = signed_in(app, staff["focal"])
    assert len(grid(client.get("/focal/report"))) == 50
    third = grid(client.get("/focal/report?page=3"))
    assert len(third) == 5 and "Page 3 of 3" in client.get("/focal/report?page=3").get_data(
        as_text=True
    )
    assert len(read_csv(client.get("/focal/report.csv"))) == 1 + 105
    assert "105 people" in client.get("/focal/report?page=9").get_data(as_text=True)


def test_every_course_someone_takes_is_a_column(app, staff, tmp_path):
    folder = tmp_path / "second-tour"
    shutil.copytree(FIXTURE_COURSES / "format-tour", folder)
    course_md = folder / "course.md"
    course_md.write_text(
        course_md.read_text().replace("A tour of the course format", "Second tour"), "utf-8"
    )
    import_course_folder(db.session, folder)
    second = db.session.scalar(select(Course).where(Course.slug == "second-tour"))
    db.session.add(
        Enrollment(
            user_id=staff["eko"].id, course_id=second.id, completed_at=COMPLETED, due_on=YESTERDAY
        )
    )
    db.session.commit()
    client = signed_in(app, staff["focal"])
    page = client.get("/focal/report")
    assert table(page.get_data(as_text=True))[0] == [
        "Name",
        "Email",
        "A tour of the course format",
        "Second tour",
    ]
    rows = grid(page)
    assert rows["Eko Unenrolled"][1:] == ["—", "Completed 03 Mar 2025"]
    assert rows["Ana Completed"][1:] == ["Completed 03 Mar 2025", "—"]
    assert set(grid(client.get("/focal/report?course=second-tour"))) == {"Eko Unenrolled"}


def add_staff(country_id: int, course: Course, start: int, count: int) -> None:
    """`count` learners, enrolled, most part-way through, with bulk inserts."""
    ids = db.session.scalars(
        insert(User).returning(User.id),
        [
            {
                "email": f"staff{number}@example.go.id",
                "display_name": f"Staff {number:05d}",
                "role": "learner",
                "country_id": country_id,
            }
            for number in range(start, start + count)
        ],
    ).all()
    db.session.execute(
        insert(Enrollment),
        [
            {
                "user_id": user_id,
                "course_id": course.id,
                "due_on": YESTERDAY if user_id % 3 == 0 else NEXT_MONTH,
                "completed_at": COMPLETED if user_id % 7 == 0 else None,
            }
            for user_id in ids
        ],
    )
    db.session.execute(
        insert(LessonProgress),
        [
            {"user_id": user_id, "course_id": course.id, "item_key": "basics/front-matter"}
            for user_id in ids
            if user_id % 2 == 0
        ],
    )
    db.session.commit()


@pytest.mark.parametrize(
    "url", ["/focal/report", "/focal/report.csv", "/focal/report?status=in_progress"]
)
def test_the_report_runs_as_many_queries_for_1000_staff_as_for_10(app, staff, count_queries, url):
    client = signed_in(app, staff["focal"])
    counts = []
    for start, count in ((0, 10), (10, 990)):
        add_staff(staff["focal"].country_id, staff["course"], start, count)
        client.get(url)  # the session's once-a-minute write, if due, happens here
        with count_queries() as counter:
            response = client.get(url)
        assert response.status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1], counts
    assert counts[0] <= 12, counts


def test_admin_analytics_shows_completions_and_the_weakest_questions(app, staff):
    staff["ana"].display_name = "Ana"
    enrolment = db.session.scalar(select(Enrollment).where(Enrollment.user_id == staff["ana"].id))
    enrolment.completed_at = utcnow()
    db.session.commit()
    admin = make_user(Role.ADMIN, country=None)
    client = signed_in(app, admin)
    response = client.get("/admin/analytics")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    by_course = section(html, "Completions by course, last 12 months")
    assert by_course[1][0] == "A tour of the course format" and by_course[1][-2:] == ["1", "1"]
    by_country = section(html, "Completions by country, last 12 months")
    assert by_country[1][0] == "Indonesia" and by_country[1][-1] == "1"
    questions = section(html, "Quiz questions, weakest first")
    stems = [row[0] for row in questions[1:]]
    # Weakest first: two at 0% right (the half mark is not right), then 50%, then 100%.
    assert [row[2:] for row in questions[1:5]] == [
        ["1", "0%"],
        ["1", "0%"],
        ["2", "50%"],
        ["1", "100%"],
    ]
    assert stems[2].startswith("For an adult victim") and "Review this question" not in stems[2]
    assert all(stem.endswith("Review this question") for stem in stems[:2])
    assert stems[3].startswith("How many persons")
    assert all(row[2:] == ["0", "—"] for row in questions[5:])  # nobody answered: last
    assert len(questions) == 1 + 7  # every question of the published version's two quizzes


def test_analytics_runs_a_constant_number_of_queries(app, staff, count_queries):
    admin = make_user(Role.ADMIN, country=None)
    client = signed_in(app, admin)
    client.get("/admin/analytics")
    with count_queries() as few:
        client.get("/admin/analytics")
    add_staff(staff["focal"].country_id, staff["course"], 0, 300)
    client.get("/admin/analytics")
    with count_queries() as many:
        client.get("/admin/analytics")
    assert few.count == many.count


def test_the_report_pages_link_each_other(app, staff):
    client = signed_in(app, staff["focal"])
    roster = client.get("/focal/").get_data(as_text=True)
    assert 'href="/focal/report"' in roster
    html = client.get("/focal/report?status=overdue").get_data(as_text=True)
    assert 'href="/focal/report.csv?status=overdue"' in html
    admin = signed_in(app, make_user(Role.ADMIN, country=None))
    assert 'href="/admin/analytics"' in admin.get("/admin/users").get_data(as_text=True)
