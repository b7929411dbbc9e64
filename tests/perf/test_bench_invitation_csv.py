"""How long an invitation CSV takes to read into a preview, for a typical and a maximal file."""

from __future__ import annotations

import codecs
import statistics
import time
from datetime import date

import pytest

from app.services.invitation_csv import MAX_ROWS, parse_invitation_csv

ROUNDS = 7
TODAY = date(2026, 3, 2)
COURSES = {
    "untoc-essentials",
    "criminalizing-migrant-smuggling",
    "criminalizing-trafficking-in-persons",
    "protecting-victims-of-trafficking",
    "following-the-money",
    "working-across-borders",
}
# Names in the scripts of the countries that upload these files, as spreadsheets export them.
NAMES = [
    "สมชาย ใจดี",
    "ফারজানা আক্তার",
    "Nguyễn Thị Hương",
    "محمد عبد الله",
    "Siti Rahma binti Ahmad",
    "Anura Perera",
]
COURSE_CHOICES = [
    "untoc-essentials",
    "untoc-essentials; criminalizing-migrant-smuggling",
    "protecting-victims-of-trafficking;following-the-money;working-across-borders",
    "",
]


def staff_csv(count: int) -> bytes:
    """A "CSV UTF-8" file as Excel writes it: BOM, CRLF, quotes only where a cell needs them."""
    lines = ["email,name,courses,due_date"]
    for number in range(count):
        courses = COURSE_CHOICES[number % len(COURSE_CHOICES)]
        due = f"2026-{number % 9 + 4:02d}-{number % 28 + 1:02d}" if courses else ""
        lines.append(
            f"Officer.{number:04d}@Immigration.go.th,"
            f'"{NAMES[number % len(NAMES)]}, {number}",{courses},{due}'
        )
    return codecs.BOM_UTF8 + ("\r\n".join(lines) + "\r\n").encode("utf-8")


@pytest.mark.parametrize("count", [500, MAX_ROWS])
def test_parse_an_invitation_csv(count, bench_table):
    data = staff_csv(count)
    unavailable = {f"someone.else.{n}@immigration.go.th" for n in range(count)}
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        preview = parse_invitation_csv(
            data, known_courses=COURSES, unavailable_emails=unavailable, today=TODAY
        )
        times.append(time.perf_counter() - started)
        assert preview.refusal is None
        assert len(preview.valid_rows) == count
        assert preview.refused_rows == []
    assert preview.rows[-1].line == count + 1
    assert preview.rows[0].email == "officer.0000@immigration.go.th"
    bench_table.append(
        (
            f"invitation CSV parse, {count:,} rows ({len(data) / 1024:.0f} KB)",
            "—",
            f"median {statistics.median(times) * 1000:.1f} ms, "
            f"max {max(times) * 1000:.1f} ms (of {ROUNDS})",
        )
    )
