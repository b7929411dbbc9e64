"""The request's ORM session is made only when something needs it (app.extensions.RequestSessions):
a signed-in page that reads nothing through the ORM makes none, and the person read by the
sign-in lookup goes into the session as it is made, as if the ORM had loaded them there."""

from __future__ import annotations

from flask import jsonify
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.models import User
from tests.factories import enrolled_learner_client, make_user, sign_in

LESSON = "/courses/format-tour/basics/front-matter"


def count_sessions_made(monkeypatch) -> list[int]:  # noqa: ANN001
    made: list[int] = []
    make = db.session.registry.createfunc

    def counted():  # noqa: ANN202
        made.append(1)
        return make()

    monkeypatch.setattr(db.session.registry, "createfunc", counted)
    return made


def test_a_signed_in_lesson_page_makes_no_session_once_the_catalogue_is_kept(app, monkeypatch):
    client = enrolled_learner_client(app)
    assert client.get(LESSON).status_code == 200  # the lesson is read once, then kept
    made = count_sessions_made(monkeypatch)
    page = client.get(LESSON)
    assert page.status_code == 200
    assert b"Mark as complete" in page.data  # enrolled, not done: the learner's own state
    assert made == []
    assert db.session._waiting == {}  # nothing left behind for the next request


def test_the_signed_in_person_goes_into_the_session_as_it_is_made(app):
    seen = {}

    @app.get("/probe/session")
    def probe():  # noqa: ANN202
        person = current_user._get_current_object()
        seen["made before"] = db.session.made()
        # The country came with the sign-in lookup: no session needed for it.
        seen["country"] = person.country.code
        seen["made after country"] = db.session.made()
        # The first query makes the session, with the person in it: the same object.
        found = db.session.scalar(select(User).where(User.id == person.id))
        seen["same object"] = found is person
        seen["in session"] = person in db.session
        seen["clean"] = not db.session.dirty and not db.session.new
        return jsonify(ok=True)

    client = app.test_client()
    sign_in(client, make_user(email="probe@example.gov", country="ID"))
    assert client.get("/probe/session").status_code == 200
    assert seen == {
        "made before": False,
        "country": "ID",
        "made after country": False,
        "same object": True,
        "in session": True,
        "clean": True,
    }


def test_a_change_to_the_person_before_the_session_is_made_is_saved(app):
    @app.post("/probe/rename")
    def rename():  # noqa: ANN202
        assert not db.session.made()
        current_user.display_name = "Renamed Before Any Query"
        db.session.commit()  # makes the session: the person goes in with the change
        return jsonify(ok=True)

    person = make_user(email="rename@example.gov")
    client = app.test_client()
    sign_in(client, person)
    app.config["WTF_CSRF_ENABLED"] = False  # the probe has no form
    assert client.post("/probe/rename").status_code == 200
    db.session.expire_all()
    assert db.session.get(User, person.id).display_name == "Renamed Before Any Query"


def test_a_person_without_a_country_reads_as_such(app):
    @app.get("/probe/country")
    def country():  # noqa: ANN202
        return jsonify(country=current_user.country, made=db.session.made())

    client = app.test_client()
    sign_in(client, make_user(email="nowhere@example.gov", country=None))
    assert client.get("/probe/country").get_json() == {"country": None, "made": False}


def test_asking_for_the_engine_makes_no_session(app):
    db.session.scalar(select(User.id))  # the test's own context makes its session
    with app.app_context():  # a context of its own, as a request has
        assert db.session.get_bind() is db.engine
        assert not db.session.made()
        db.session.scalar(select(User.id))
        assert db.session.made()
        assert db.session.get_bind() is db.engine
    assert db.session.made()  # the test's own context keeps its session
