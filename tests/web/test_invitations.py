"""Invitations and enrolment: admin → focal point → staff, by form and by CSV."""

from __future__ import annotations

import email
import email.policy
import io
import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Enrollment, Invitation, OutgoingMail, Role, User, utcnow
from tests.factories import csrf_token, make_country, make_user, sign_in, submit


def outbox(app) -> list[email.message.EmailMessage]:
    folder = Path(app.instance_path) / "outbox"
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted(folder.glob("*.eml"))
    ]


def invitation_path(message: email.message.EmailMessage) -> str:
    return re.search(r"https?://[^/\s]+(/invitations/\S+)", message.get_content()).group(1)


def accept(client, path: str, name: str, password: str = "a long passphrase for work"):
    return submit(client, path, {"display_name": name, "password": password, "confirm": password})


def test_admin_invites_a_focal_point_who_invites_and_enrols_staff(app, imported_course):
    admin = make_user(Role.ADMIN, country=None)
    indonesia = make_country("ID", "Indonesia")
    admin_client = app.test_client()
    sign_in(admin_client, admin)
    response = submit(
        admin_client,
        "/focal/invitations/new",
        {
            "email": "Dewi@Example.go.id",
            "display_name": "Dewi Lestari",
            "role": "focal_point",
            "country": str(indonesia.id),
        },
    )
    assert response.status_code == 302
    [message] = outbox(app)
    assert message["To"] == "dewi@example.go.id"

    focal_client = app.test_client()
    assert accept(focal_client, invitation_path(message), "Dewi Lestari").status_code == 302
    focal = db.session.scalar(select(User).where(User.email == "dewi@example.go.id"))
    assert (focal.role, focal.country_id) == ("focal_point", indonesia.id)
    assert focal_client.get("/focal/").status_code == 200

    response = submit(
        focal_client,
        "/focal/invitations/new",
        {
            "email": "budi@example.go.id",
            "display_name": "Budi Santoso",
            "role": "learner",
            "country": str(indonesia.id),
            "courses": imported_course,
        },
    )
    assert response.status_code == 302
    staff_client = app.test_client()
    accept(staff_client, invitation_path(outbox(app)[-1]), "Budi Santoso")
    dashboard = staff_client.get("/dashboard").get_data(as_text=True)
    assert "A tour of the course format" in dashboard
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"invitation.created", "invitation.accepted", "enrolment.created"} <= actions


def test_an_invitation_link_works_once_and_not_after_withdrawal_or_expiry(app):
    focal = make_user(Role.FOCAL_POINT)
    client = app.test_client()
    sign_in(client, focal)
    for address in ("a@example.gov", "b@example.gov", "c@example.gov"):
        submit(
            client,
            "/focal/invitations/new",
            {
                "email": address,
                "display_name": "X",
                "role": "learner",
                "country": str(focal.country_id),
            },
        )
    links = [invitation_path(m) for m in outbox(app)]
    guest = app.test_client()
    assert accept(guest, links[0], "Ana").status_code == 302
    assert app.test_client().get(links[0]).status_code == 410

    second = db.session.scalar(select(Invitation).where(Invitation.email == "b@example.gov"))
    submit(client, "/focal/invitations", {}, post_url=f"/focal/invitations/{second.id}/withdraw")
    assert app.test_client().get(links[1]).status_code == 410

    third = db.session.scalar(select(Invitation).where(Invitation.email == "c@example.gov"))
    third.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert "expired" in app.test_client().get(links[2]).get_data(as_text=True)
    assert app.test_client().get("/invitations/forged-token").status_code == 410
    assert db.session.scalar(select(func.count()).select_from(User)) == 2


def test_inviting_an_address_that_has_an_account_elsewhere_reveals_nothing(app):
    make_user(email="taken@example.gov", country="TH")
    focal = make_user(Role.FOCAL_POINT, country="ID")
    client = app.test_client()
    sign_in(client, focal)
    taken = submit(
        client,
        "/focal/invitations/new",
        {
            "email": "taken@example.gov",
            "display_name": "X",
            "role": "learner",
            "country": str(focal.country_id),
        },
    )
    fresh = submit(
        client,
        "/focal/invitations/new",
        {
            "email": "fresh@example.gov",
            "display_name": "X",
            "role": "learner",
            "country": str(focal.country_id),
        },
    )
    assert taken.status_code == fresh.status_code == 302
    notice, invitation = outbox(app)
    assert notice["To"] == "taken@example.gov" and "already has an account" in notice.get_content()
    assert "/invitations/" in invitation.get_content()


def test_a_focal_point_cannot_invite_for_another_country_or_make_an_admin(app):
    focal = make_user(Role.FOCAL_POINT, country="ID")
    thailand = make_country("TH")
    client = app.test_client()
    sign_in(client, focal)
    for role, country in (("learner", thailand.id), ("admin", focal.country_id)):
        response = submit(
            client,
            "/focal/invitations/new",
            {"email": "x@example.gov", "display_name": "X", "role": role, "country": str(country)},
        )
        assert response.status_code == 200  # refused as not a valid choice
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 0


CSV = (
    "email,name,courses,due_date\n"
    "ana@example.gov,Ana Reyes,format-tour,2099-01-31\n"
    "somchai@example.go.th,สมชาย ใจดี,,\n"
    "not-an-email,Broken Row,,\n"
    "ana@example.gov,Ana Again,,\n"
)


def test_csv_upload_previews_every_row_and_writes_nothing_until_confirmed(app, imported_course):
    focal = make_user(Role.FOCAL_POINT)
    client = app.test_client()
    sign_in(client, focal)
    page = client.get("/focal/invitations/upload")
    response = client.post(
        "/focal/invitations/upload",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "country": str(focal.country_id),
            "file": (io.BytesIO(("\ufeff" + CSV).encode("utf-8")), "staff.csv"),
        },
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 row(s) will be invited; 2 row(s) are refused" in html
    assert "สมชาย ใจดี" in html
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 0
    confirm = client.post(
        "/focal/invitations/confirm",
        data={
            "csrf_token": csrf_token(html),
            "csv_text": re.search(r'name="csv_text" type="hidden" value="([^"]*)"', html)
            .group(1)
            .replace("&#10;", "\n")
            .replace("&amp;", "&"),
            "country": str(focal.country_id),
        },
    )
    assert confirm.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 2
    assert len(outbox(app)) == 2
    staff_client = app.test_client()
    ana = next(m for m in outbox(app) if m["To"] == "ana@example.gov")
    accept(staff_client, invitation_path(ana), "Ana Reyes")
    enrolment = db.session.scalar(select(Enrollment))
    assert enrolment.due_on.isoformat() == "2099-01-31"


def test_a_latin1_csv_is_refused_as_a_whole(app):
    focal = make_user(Role.FOCAL_POINT)
    client = app.test_client()
    sign_in(client, focal)
    page = client.get("/focal/invitations/upload")
    response = client.post(
        "/focal/invitations/upload",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "country": str(focal.country_id),
            "file": (
                io.BytesIO("email,name\nj@example.gov,José Núñez\n".encode("latin-1")),
                "x.csv",
            ),
        },
        content_type="multipart/form-data",
    )
    assert "CSV UTF-8" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 0


def test_invitation_mail_goes_through_a_real_smtp_server_and_its_link_works(app, smtp_server):
    server = smtp_server()
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
    focal = make_user(Role.FOCAL_POINT)
    client = app.test_client()
    sign_in(client, focal)
    submit(
        client,
        "/focal/invitations/new",
        {
            "email": "rahim@example.gov.bd",
            "display_name": "রহিম",
            "role": "learner",
            "country": str(focal.country_id),
        },
    )
    [message] = server.messages
    assert message["To"] == "rahim@example.gov.bd"
    assert "রহিম" in message.get_content()
    guest = app.test_client()
    assert accept(guest, invitation_path(message), "রহিম উদ্দিন").status_code == 302
    assert guest.get("/dashboard").status_code == 200


def test_a_failed_send_is_reported_kept_and_can_be_retried(app, smtp_server):
    from tests.smtp import free_port

    port = free_port()
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    focal = make_user(Role.FOCAL_POINT)
    client = app.test_client()
    sign_in(client, focal)
    response = submit(
        client,
        "/focal/invitations/new",
        {
            "email": "late@example.gov",
            "display_name": "Late",
            "role": "learner",
            "country": str(focal.country_id),
        },
        follow_redirects=True,
    )
    assert "could not be sent" in response.get_data(as_text=True)
    stored = db.session.scalar(select(OutgoingMail))
    assert stored.sent_at is None and stored.attempts == 1
    server = smtp_server(port=port)
    invitation = db.session.scalar(select(Invitation))
    retried = submit(
        client,
        "/focal/invitations",
        {},
        post_url=f"/focal/invitations/{invitation.id}/retry-mail",
        follow_redirects=True,
    )
    assert "is sent" in retried.get_data(as_text=True)
    assert len(server.messages) == 1


def test_unenrolling_keeps_progress_and_enrolling_again_resumes(app, imported_course):
    from app.models import Course, LessonProgress

    focal = make_user(Role.FOCAL_POINT)
    learner = make_user()
    course = db.session.scalar(select(Course))
    client = app.test_client()
    sign_in(client, focal)
    submit(client, "/focal/enrol", {"course": imported_course, "learners": str(learner.id)})
    enrolment = db.session.scalar(select(Enrollment))
    db.session.add(
        LessonProgress(user_id=learner.id, course_id=course.id, item_key="basics/front-matter")
    )
    db.session.commit()
    submit(
        client,
        f"/focal/people/{learner.id}",
        {},
        post_url=f"/focal/enrollments/{enrolment.id}/unenrol",
    )
    db.session.refresh(enrolment)
    assert enrolment.unenrolled_at is not None
    assert db.session.scalar(select(func.count()).select_from(LessonProgress)) == 1
    submit(client, "/focal/enrol", {"course": imported_course, "everyone": "y"})
    db.session.refresh(enrolment)
    assert enrolment.unenrolled_at is None


def test_learners_may_join_open_courses_themselves(app, imported_course):
    learner = make_user()
    client = app.test_client()
    sign_in(client, learner)
    response = submit(client, "/dashboard", {}, post_url=f"/courses/{imported_course}/enrol")
    assert response.status_code == 302
    assert db.session.scalar(select(Enrollment)).user_id == learner.id


def test_the_roster_searches_filters_and_shows_only_the_countrys_staff(app):
    focal = make_user(Role.FOCAL_POINT, country="ID")
    make_user(name="Budi Santoso", country="ID")
    make_user(name="Siti Rahma", country="ID", active=False)
    make_user(name="Somchai Jaidee", country="TH")
    client = app.test_client()
    sign_in(client, focal)
    html = client.get("/focal/").get_data(as_text=True)
    assert "Budi Santoso" in html and "Siti Rahma" in html and "Somchai" not in html
    searched = client.get("/focal/?q=budi").get_data(as_text=True)
    assert "Budi Santoso" in searched and "Siti Rahma" not in searched
    deactivated = client.get("/focal/?status=deactivated").get_data(as_text=True)
    assert "Siti Rahma" in deactivated and "Budi Santoso" not in deactivated


def test_resending_gives_a_new_link_and_the_old_one_stops_working(app):
    focal = make_user(Role.FOCAL_POINT)
    client = app.test_client()
    sign_in(client, focal)
    fields = {"email": "r@example.gov", "display_name": "R", "role": "learner"}
    submit(client, "/focal/invitations/new", {**fields, "country": str(focal.country_id)})
    old_link = invitation_path(outbox(app)[-1])
    invitation = db.session.scalar(select(Invitation))
    submit(client, "/focal/invitations", {}, post_url=f"/focal/invitations/{invitation.id}/resend")
    new_link = invitation_path(outbox(app)[-1])
    assert new_link != old_link
    assert app.test_client().get(old_link).status_code == 410
    assert app.test_client().get(new_link).status_code == 200
