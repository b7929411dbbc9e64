"""Taking a course through the pages: progress, attempts, results, the dashboard."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.learn.views import _Standing
from app.models import (
    Course,
    Enrollment,
    LessonProgress,
    Question,
    QuizAttempt,
    Role,
    utcnow,
)
from tests.factories import csrf_token, make_user, sign_in, submit


@pytest.fixture
def learner(app, imported_course):
    person = make_user()
    course = db.session.scalar(select(Course))
    db.session.add(Enrollment(user_id=person.id, course_id=course.id, enrolled_at=utcnow()))
    db.session.commit()
    return person


@pytest.fixture
def signed_in(app, learner):
    client = app.test_client()
    sign_in(client, learner)
    return client


LESSON = "/courses/format-tour/basics/front-matter"
QUIZ = "/courses/format-tour/basics/check"


def test_mark_as_complete_is_a_post_shows_done_and_leads_on(signed_in):
    response = submit(signed_in, LESSON, {}, post_url=f"{LESSON}/complete")
    assert response.headers["Location"] == "/courses/format-tour/basics/links-and-code"
    assert "You have completed this lesson" in signed_in.get(LESSON).get_data(as_text=True)
    course_page = signed_in.get("/courses/format-tour").get_data(as_text=True)
    assert 'value="20"' in course_page  # 1 of 5 items
    assert "Continue where you left off" in course_page
    assert "Next: Links and code" in course_page
    assert signed_in.get(f"{LESSON}/complete").status_code == 405


def test_a_kept_lesson_page_shows_each_reader_their_own_state_navigation_and_token(
    app, signed_in, learner
):
    course = db.session.scalar(select(Course))
    readers = {}
    for name, role in (("second", Role.LEARNER), ("third", Role.LEARNER),
                       ("focal", Role.FOCAL_POINT)):  # fmt: skip
        person = make_user(role)
        db.session.add(Enrollment(user_id=person.id, course_id=course.id, enrolled_at=utcnow()))
        db.session.commit()
        readers[name] = app.test_client()
        sign_in(readers[name], person)
    submit(signed_in, LESSON, {}, post_url=f"{LESSON}/complete")

    done = signed_in.get(LESSON).get_data(as_text=True)
    pages = {name: client.get(LESSON).get_data(as_text=True) for name, client in readers.items()}
    assert "You have completed this lesson" in done and "Mark as complete" not in done
    assert all("Mark as complete" in page for page in pages.values())
    tokens = {name: csrf_token(page) for name, page in pages.items()}
    assert len({*tokens.values(), csrf_token(done)}) == 4  # each reader's own
    # The second and third learners get one kept page, each with their own token, twice.
    assert pages["second"].replace(tokens["second"], "") == pages["third"].replace(
        tokens["third"], ""
    )
    assert pages["second"].count(tokens["second"]) == 2  # sign-out and mark-complete forms
    assert 'href="/focal/' in pages["focal"] and 'href="/focal/' not in pages["second"]
    visitor = app.test_client().get(LESSON).get_data(as_text=True)
    assert "Sign in" in visitor and "Sign out" not in visitor and "csrf_token" not in visitor
    answer = readers["third"].post(f"{LESSON}/complete", data={"csrf_token": tokens["third"]})
    assert answer.status_code == 302  # the token in the kept page is the reader's, and works
    assert "You have completed this lesson" in readers["third"].get(LESSON).get_data(as_text=True)


def test_a_lesson_page_with_a_message_to_flash_shows_it_once(signed_in):
    with signed_in.session_transaction() as session:
        session["_flashes"] = [("info", "A message for this reader alone")]
    assert "A message for this reader alone" in signed_in.get(LESSON).get_data(as_text=True)
    assert "A message for this reader alone" not in signed_in.get(LESSON).get_data(as_text=True)


def test_a_kept_lesson_page_can_know_its_readers_standing_and_nothing_more(signed_in, learner):
    standing = _Standing(learner)
    assert standing.key() == (True, False, False)
    with pytest.raises(RuntimeError, match="display_name"):
        _ = standing.display_name


def test_completing_from_two_tabs_counts_once(signed_in, app):
    token = csrf_token(signed_in.get(LESSON).get_data(as_text=True))
    for _ in range(2):
        signed_in.post(f"{LESSON}/complete", data={"csrf_token": token})
    assert db.session.scalar(select(func.count()).select_from(LessonProgress)) == 1


def start(client, quiz_url: str = QUIZ) -> str:
    response = submit(client, quiz_url, {}, post_url=f"{quiz_url}/attempts")
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return response.headers["Location"]


def test_the_attempt_page_reveals_no_correct_answer_for_any_kind(signed_in):
    attempt_url = start(signed_in)
    html = signed_in.get(attempt_url).get_data(as_text=True)
    questions = db.session.scalars(select(Question)).all()
    shown = [q for q in questions if q.stem_html in html]
    assert {q.kind for q in shown} == {"single", "multiple", "true_false", "short"}
    for question in shown:
        for answer in question.accepted_answers:
            assert f'value="{answer}"' not in html
        explanation = re.sub(r"<[^>]+>", "", question.explanation_html).strip()
        assert explanation not in html
        for choice in question.choices:
            tag = re.search(rf'<input[^>]*value="{choice["id"]}"[^>]*>', html).group(0)
            assert "checked" not in tag and "correct" not in tag
    assert "correct" not in html.lower()

    # A reload shows the same attempt in the same order (the CSRF tokens carry the second
    # they were signed in, so they may differ).
    def without_tokens(page: str) -> str:
        return re.sub(r'(name="csrf_token"[^>]*? value=")[^"]+"', r'\1"', page)

    assert without_tokens(signed_in.get(attempt_url).get_data(as_text=True)) == without_tokens(html)


def answer_form(html: str, *, right: bool) -> dict:
    data = {"csrf_token": csrf_token(html), "action": "submit"}
    for question in db.session.scalars(select(Question)).all():
        if f'name="q{question.id}"' not in html:
            continue
        if question.kind == "short":
            data[f"q{question.id}"] = question.accepted_answers[0] if right else "no idea"
        else:
            chosen = [c["id"] for c in question.choices if c["correct"] == right]
            data[f"q{question.id}"] = chosen if question.kind == "multiple" or right else chosen[:1]
    return data


def test_fail_retry_pass_and_see_explanations_and_mastery(signed_in):
    attempt_url = start(signed_in)
    html = signed_in.get(attempt_url).get_data(as_text=True)
    signed_in.post(attempt_url, data=answer_form(html, right=False))
    result = signed_in.get(attempt_url).get_data(as_text=True)
    assert "Your score: <strong>0%</strong>" in result and "Not passed" in result
    assert "UNTOC art. 2(a): a structured group of three or more persons." in result
    assert "By obligation" in result and "TIP art. 3" in result
    retry_url = start(signed_in)
    assert retry_url != attempt_url
    html = signed_in.get(retry_url).get_data(as_text=True)
    signed_in.post(retry_url, data=answer_form(html, right=True))
    assert "Your score: <strong>100%</strong>" in signed_in.get(retry_url).get_data(as_text=True)
    quiz_page = signed_in.get(QUIZ).get_data(as_text=True)
    assert "Passed. Your best score: 100%." in quiz_page


def test_submitting_the_same_attempt_twice_grades_it_once(signed_in):
    attempt_url = start(signed_in)
    html = signed_in.get(attempt_url).get_data(as_text=True)
    signed_in.post(attempt_url, data=answer_form(html, right=True))
    again = signed_in.post(attempt_url, data=answer_form(html, right=False), follow_redirects=True)
    assert "already submitted" in again.get_data(as_text=True)
    attempt = db.session.scalar(select(QuizAttempt))
    assert attempt.score == 100


def test_a_tampered_form_is_refused_and_changes_nothing(signed_in):
    attempt_url = start(signed_in)
    html = signed_in.get(attempt_url).get_data(as_text=True)
    data = answer_form(html, right=True)
    data["q999999"] = "forged"
    response = signed_in.post(attempt_url, data=data, follow_redirects=True)
    assert "could not be accepted" in response.get_data(as_text=True)
    attempt = db.session.scalar(select(QuizAttempt))
    assert attempt.submitted_at is None


def test_answers_without_the_csrf_token_are_refused_and_change_nothing(signed_in):
    attempt_url = start(signed_in)
    html = signed_in.get(attempt_url).get_data(as_text=True)
    data = answer_form(html, right=True)
    del data["csrf_token"]
    response = signed_in.post(attempt_url, data=data)
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    assert db.session.scalar(select(QuizAttempt)).submitted_at is None


def test_someone_elses_attempt_is_not_found(app, signed_in):
    attempt_url = start(signed_in)
    other = make_user()
    client = app.test_client()
    sign_in(client, other)
    assert client.get(attempt_url).status_code == 404
    token = csrf_token(client.get("/dashboard").get_data(as_text=True))
    assert (
        client.post(attempt_url, data={"csrf_token": token, "action": "submit"}).status_code == 404
    )
    assert db.session.scalar(select(QuizAttempt)).submitted_at is None


def test_saved_answers_come_back_on_reload(signed_in):
    attempt_url = start(signed_in)
    html = signed_in.get(attempt_url).get_data(as_text=True)
    data = answer_form(html, right=True)
    data["action"] = "save"
    signed_in.post(attempt_url, data=data)
    reloaded = signed_in.get(attempt_url).get_data(as_text=True)
    assert "Answers last saved" in reloaded and " checked>" in reloaded


def test_the_dashboard_shows_progress_due_dates_and_completion(signed_in, learner):
    enrollment = db.session.scalar(select(Enrollment))
    enrollment.due_on = date.today() - timedelta(days=1)
    db.session.commit()
    submit(signed_in, LESSON, {}, post_url=f"{LESSON}/complete")
    html = signed_in.get("/dashboard").get_data(as_text=True)
    assert "Overdue" in html and 'value="20"' in html and "Last activity" in html
    enrollment.completed_at = utcnow()
    db.session.commit()
    html = signed_in.get("/dashboard").get_data(as_text=True)
    assert "<h2>Completed</h2>" in html


def test_a_visitor_sees_the_quiz_but_cannot_start_it(client, imported_course):
    html = client.get(QUIZ).get_data(as_text=True)
    assert "Sign in</a> to take this quiz" in html
    assert client.post(f"{QUIZ}/attempts").status_code in (302, 400)
