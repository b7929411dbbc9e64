"""Admin invites a focal point, who invites and enrols staff from a CSV; staff find the course."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Country, Role, User
from app.services.passwords import hash_password

pytestmark = pytest.mark.e2e
ADMIN_PASSWORD = "admin passphrase for the journey"


def sign_in(page, url: str, email: str, password: str) -> None:
    page.goto(f"{url}/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/dashboard")


def accept_invitation(page, link: str, name: str, password: str, check) -> None:
    page.goto(link)
    check(page)
    page.get_by_label("Your name, as it should appear on certificates").fill(name)
    page.get_by_label("New password", exact=True).fill(password)
    page.get_by_label("Repeat the new password").fill(password)
    page.get_by_role("button", name="Create my account").click()


def test_admin_focal_point_and_staff_journey(browser, live_server, assert_accessible, tmp_path):
    url = live_server.url
    with live_server.app.app_context():
        indonesia = db.session.scalar(select(Country).where(Country.code == "ID"))
        db.session.add(
            User(
                email="journey.admin@rso.example",
                display_name="Journey Admin",
                role=Role.ADMIN.value,
                password_hash=hash_password(ADMIN_PASSWORD),
            )
        )
        db.session.commit()
        indonesia_id = indonesia.id

    admin = browser.new_context().new_page()
    sign_in(admin, url, "journey.admin@rso.example", ADMIN_PASSWORD)
    assert_accessible(admin)
    admin.goto(f"{url}/focal/invitations/new")
    assert_accessible(admin)
    admin.get_by_label("Email").fill("dewi.journey@example.go.id")
    admin.get_by_label("Name", exact=True).fill("Dewi Lestari")
    admin.get_by_label("Role").select_option("focal_point")
    admin.get_by_label("Country").select_option(str(indonesia_id))
    admin.get_by_role("button", name="Send the invitation").click()
    admin.wait_for_url(f"{url}/focal/invitations")
    assert "Invitation sent to dewi.journey@example.go.id" in admin.content()
    assert_accessible(admin)

    focal = browser.new_context().new_page()
    accept_invitation(
        focal,
        live_server.link_for("dewi.journey@example.go.id"),
        "Dewi Lestari",
        "focal point passphrase 2027",
        assert_accessible,
    )
    focal.wait_for_url(f"{url}/dashboard")
    assert_accessible(focal)

    staff_csv = tmp_path / "staff.csv"
    course = "criminalizing-trafficking-in-persons"
    staff_csv.write_text(
        "email,name,courses,due_date\n"
        f"budi.journey@example.go.id,Budi Santoso,{course},2099-06-30\n"
        f"siti.journey@example.go.id,Siti Rahmawati,{course},2099-06-30\n",
        encoding="utf-8",
    )
    focal.goto(f"{url}/focal/invitations/upload")
    assert_accessible(focal)
    focal.get_by_label("CSV file", exact=False).set_input_files(str(staff_csv))
    with focal.expect_navigation():  # read the page the click loads, not the one it leaves
        focal.get_by_role("button", name="Preview").click()
    assert "2 row(s) will be invited; 0 row(s) are refused" in focal.content()
    assert_accessible(focal)
    focal.get_by_role("button", name="Invite 2 people").click()
    focal.wait_for_url(f"{url}/focal/invitations")
    assert "2 invitation(s) created" in focal.content()
    assert_accessible(focal)
    focal.goto(f"{url}/focal/")
    assert_accessible(focal)

    staff = browser.new_context().new_page()
    accept_invitation(
        staff,
        live_server.link_for("budi.journey@example.go.id"),
        "Budi Santoso",
        "staff member passphrase",
        assert_accessible,
    )
    staff.wait_for_url(f"{url}/dashboard")
    assert staff.get_by_role(
        "link", name="Criminalizing trafficking in persons", exact=True
    ).is_visible()
    assert "Due 30 Jun 2099" in staff.content()
    assert_accessible(staff)
