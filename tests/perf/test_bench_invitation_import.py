"""A focal point's CSV of 500 staff: upload and preview, then confirm (invitations + mail)."""

from __future__ import annotations

import io
import re
import statistics
import time

import pytest

from app import create_app
from app.extensions import db, limiter
from app.models import Invitation, Role
from tests.conftest import RequestIsolatedClient, make_config
from tests.factories import csrf_token, make_user, sign_in

ROWS = 500
ROUNDS = 3


def staff_csv(rows: int, round_number: int) -> bytes:
    lines = ["email,name,courses,due_date"]
    names = ["Budi Santoso", "สมชาย ใจดี", "Nguyễn Thị Hồng", "রহিম উদ্দিন", "Siti Rahmawati"]
    for number in range(rows):
        lines.append(
            f"staff{round_number}.{number}@example.go.id,{names[number % len(names)]} {number},,"
        )
    return ("\n".join(lines) + "\n").encode("utf-8")


@pytest.mark.parametrize("backend", ["sqlite"])
def test_csv_invitation_of_500_staff(backend, tmp_path, bench_table):
    preview_times, confirm_times = [], []
    for round_number in range(ROUNDS):
        app = create_app(make_config(f"sqlite:///{tmp_path / f'csv{round_number}.sqlite3'}"))
        app.instance_path = str(tmp_path / f"instance{round_number}")
        app.test_client_class = RequestIsolatedClient
        limiter.reset()
        with app.app_context():
            db.create_all()
            focal = make_user(Role.FOCAL_POINT)
            client = app.test_client()
            sign_in(client, focal)
            token = csrf_token(client.get("/focal/invitations/upload").get_data(as_text=True))
            started = time.perf_counter()
            preview = client.post(
                "/focal/invitations/upload",
                data={
                    "csrf_token": token,
                    "country": str(focal.country_id),
                    "file": (io.BytesIO(staff_csv(ROWS, round_number)), "staff.csv"),
                },
                content_type="multipart/form-data",
            )
            preview_times.append(time.perf_counter() - started)
            html = preview.get_data(as_text=True)
            assert f"{ROWS} row(s) will be invited; 0 row(s) are refused" in html
            csv_text = re.search(r'name="csv_text" type="hidden" value="([^"]*)"', html).group(1)
            started = time.perf_counter()
            confirm = client.post(
                "/focal/invitations/confirm",
                data={
                    "csrf_token": csrf_token(html),
                    "csv_text": csv_text.replace("&#10;", "\n").replace("&amp;", "&"),
                    "country": str(focal.country_id),
                },
            )
            confirm_times.append(time.perf_counter() - started)
            assert confirm.status_code == 302
            assert db.session.query(Invitation).count() == ROWS
            db.session.remove()
            db.engine.dispose()
    bench_table.append(
        (f"CSV invitations, {ROWS} rows: upload and preview", backend,
         f"median {statistics.median(preview_times):.3f} s (of {ROUNDS})")
    )  # fmt: skip
    bench_table.append(
        (f"CSV invitations, {ROWS} rows: confirm, create and mail", backend,
         f"median {statistics.median(confirm_times):.3f} s (of {ROUNDS})")
    )  # fmt: skip
