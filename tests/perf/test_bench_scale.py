"""Cost as work grows: the same pages in regions of 1,000, 10,000 and 100,000 learners.

Each page is asked in-process (the Flask test client: the application's own time, without the
server around it), one request after another, and the median is kept, with the number of SQL
statements it sent. A learner's pages (lesson, dashboard, mark-complete, quiz submit) must cost
the same whatever the region's size; the focal point's report of the biggest country (a
quarter of the region) may grow, but no faster than the rows it covers.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import pyotp
import pytest
from sqlalchemy import event
from werkzeug.datastructures import MultiDict

from app import create_app
from app.extensions import db, limiter
from app.focal.views import REPORT_PAGE_SIZE
from tests.conftest import RequestIsolatedClient, make_config
from tests.factories import csrf_token
from tests.perf import dataset
from tests.perf.conftest import BENCH_BACKENDS, QUICK

SIZES = (1_000, 10_000) if QUICK else (1_000, 10_000, 100_000)
ROUNDS = 9 if QUICK else 21
POOL = 16
FLAT = 1.5  # a learner's page may cost at most this much more in the biggest region


class Counter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *args: object) -> None:
        self.count += 1


def sign_in(client, email: str, plan: dict) -> str:  # noqa: ANN001
    page = client.get("/auth/login")
    answer = client.post(
        "/auth/login",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "email": email,
            "password": plan["password"],
        },
    )
    assert answer.status_code == 302, answer.status_code
    if "/auth/login/code" in answer.headers["Location"]:
        page = client.get("/auth/login/code")
        answer = client.post(
            "/auth/login/code",
            data={
                "csrf_token": csrf_token(page.get_data(as_text=True)),
                "code": pyotp.TOTP(plan["totp_secret"]).now(),
            },
        )
        assert answer.status_code == 302, answer.status_code
    return csrf_token(client.get("/dashboard").get_data(as_text=True))


def measure(size: int, backend: str, tmp_path) -> dict[str, tuple[float, int]]:  # noqa: ANN001
    """{page: (median ms, SQL statements)} in a region of `size` learners."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    prepared = dataset.prepare(backend, size, pool=POOL, workdir=tmp_path)
    plan = prepared.plan
    app = create_app(
        make_config(
            prepared.url,
            CREDENTIAL_SIGNING_KEY=str(prepared.key_path),
            LOGIN_LIMIT_PER_ACCOUNT="100000 per minute",
            LOGIN_LIMIT_PER_ADDRESS="100000 per minute",
            VERIFY_LIMIT_PER_ADDRESS="10000000 per minute",
        )
    )
    app.instance_path = str(tmp_path / "instance")
    app.test_client_class = RequestIsolatedClient
    limiter.reset()
    results: dict[str, tuple[float, int]] = {}
    try:
        with app.app_context():
            learner_client, focal_client, anonymous = (app.test_client() for _ in range(3))
            learner = plan["pool"][0]
            token = sign_in(learner_client, learner["email"], plan)
            big = max(plan["focal_points"], key=lambda fp: fp["staff"])
            sign_in(focal_client, big["email"], plan)
            course = learner["courses"][0]
            lessons = [f"/courses/{course['slug']}/{key}" for key in course["lessons"]]
            attempts = iter(learner["attempts"])
            codes = iter(plan["certificates"] * ROUNDS)
            turn = iter(range(10**6))

            def submit():  # noqa: ANN202
                attempt = next(attempts)
                form = [("csrf_token", token), *map(tuple, attempt["answers"]),
                        ("action", "submit")]  # fmt: skip
                return learner_client.post(f"/attempts/{attempt['id']}", data=MultiDict(form))

            pages: dict[str, tuple[Callable, int]] = {
                "catalogue": (lambda: anonymous.get("/courses"), 200),
                "lesson page (learner)": (
                    lambda: learner_client.get(lessons[next(turn) % len(lessons)]), 200),
                "learner dashboard": (lambda: learner_client.get("/dashboard"), 200),
                "mark complete (POST)": (
                    lambda: learner_client.post(
                        lessons[next(turn) % len(lessons)] + "/complete",
                        data={"csrf_token": token}), 302),
                "quiz submit (POST)": (submit, 302),
                "certificate check (public)": (
                    lambda: anonymous.get(f"/verify/{next(codes)}"), 200),
                f"focal report, biggest country (a page of {REPORT_PAGE_SIZE} rows)": (
                    lambda: focal_client.get("/focal/report"), 200),
                "focal report CSV, biggest country (every row)": (
                    lambda: focal_client.get("/focal/report.csv"), 200),
            }  # fmt: skip
            for name, (ask, status) in pages.items():
                rounds = ROUNDS if "CSV" not in name else max(5, ROUNDS // 3)
                if name.startswith("quiz"):
                    rounds = min(rounds, len(learner["attempts"]) - 3)
                for _ in range(2):
                    assert ask().status_code == status, name
                times, counts = [], []
                for _ in range(rounds):
                    counter = Counter()
                    event.listen(db.engine, "before_cursor_execute", counter)
                    started = time.perf_counter()
                    response = ask()
                    times.append((time.perf_counter() - started) * 1000)
                    event.remove(db.engine, "before_cursor_execute", counter)
                    assert response.status_code == status, (name, response.status_code)
                    counts.append(counter.count)
                results[name] = (statistics.median(times), statistics.median(counts))
            results["staff of the biggest country"] = (big["staff"], 0)
            db.session.remove()
            db.engine.dispose()
    finally:
        prepared.drop()
    return results


@pytest.mark.parametrize("backend", BENCH_BACKENDS)
def test_cost_as_the_region_grows(backend, tmp_path, bench_table, bench_targets):
    by_size = {size: measure(size, backend, tmp_path / str(size)) for size in SIZES}
    first, last = SIZES[0], SIZES[-1]
    sizes = " · ".join(f"{size:,}" for size in SIZES)
    bench_table.append(
        (f"cost as work grows: median ms (SQL statements) at {sizes} learners", backend,
         f"growth {first:,} → {last:,}")
    )  # fmt: skip
    staff = " · ".join(
        f"{by_size[size].pop('staff of the biggest country')[0]:,}" for size in SIZES
    )
    bench_table.append((f"  staff of the biggest country: {staff}", backend, ""))
    for name in by_size[first]:
        cells = " · ".join(
            f"{by_size[size][name][0]:7.1f} ms ({by_size[size][name][1]:.0f})" for size in SIZES
        )
        growth = by_size[last][name][0] / by_size[first][name][0]
        bench_table.append((f"  {name}", backend, f"{cells}   ×{growth:.1f}"))
        if name.startswith(("lesson", "learner dashboard", "mark", "quiz")):
            bench_targets.append(
                (f"{name}: flat from {first:,} to {last:,} learners (×{FLAT} at most)",
                 backend, f"×{growth:.2f}", growth <= FLAT)
            )  # fmt: skip
        elif name.startswith("focal"):
            rows = last / first
            bench_targets.append(
                (f"{name.split(',')[0]}: grows no faster than its rows (×{rows:.0f})",
                 backend, f"×{growth:.1f}", growth <= rows)
            )  # fmt: skip
