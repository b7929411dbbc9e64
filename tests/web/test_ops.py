"""What an operator relies on: health and readiness, cached static files, compression, logs."""

from __future__ import annotations

import gzip
import io
import json
import logging
import re
import subprocess
import sys
import urllib.request

import brotli
import pytest
from sqlalchemy import create_engine, text

from app import create_app
from app.logging import json_handler
from config import BASE_DIR, ProductionConfig
from tests.conftest import POSTGRES_URL, make_config


def test_healthz_says_alive_without_a_session_or_a_cache(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_readyz_checks_the_database_and_says_redis_is_not_used_with_memory_limits(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "redis": "not used"}


def close_connections(application) -> None:  # noqa: ANN001
    """An extra app opens its own pool: close it, or its connections outlive the test."""
    from app.extensions import db

    with application.app_context():
        db.engine.dispose()


def test_readyz_answers_503_when_the_redis_of_the_rate_limits_is_unreachable(database_url):
    # Port 9 (discard) on the loopback: nothing listens, the connection is refused at once.
    app = create_app(make_config(database_url, RATELIMIT_STORAGE_URI="redis://127.0.0.1:9/0"))
    response = app.test_client().get("/readyz")
    close_connections(app)
    assert response.status_code == 503
    assert response.json == {"status": "error", "database": "ok", "redis": "unreachable"}


def test_readyz_answers_503_when_the_database_is_unreachable(tmp_path):
    broken = create_app(make_config(f"sqlite:///{tmp_path / 'missing' / 'nowhere.sqlite3'}"))
    response = broken.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"


def stylesheet_url(client) -> str:
    html = client.get("/courses").get_data(as_text=True)
    return re.search(r'<link rel="stylesheet" href="([^"]+)"', html).group(1)


def test_static_urls_carry_the_files_digest_and_are_cached_for_a_year(client):
    url = stylesheet_url(client)
    assert re.fullmatch(r"/static/css/site\.css\?v=[0-9a-f]{12}", url)
    with client.get(url) as response:
        assert response.status_code == 200
        cache = response.headers["Cache-Control"]
    assert "public" in cache and "immutable" in cache and "max-age=31536000" in cache


def test_a_static_url_without_the_current_digest_is_cached_briefly(client):
    for url in ("/static/css/site.css", "/static/css/site.css?v=000000000000"):
        with client.get(url) as response:
            assert response.status_code == 200
            assert "immutable" not in response.headers["Cache-Control"]
            assert "max-age=3600" in response.headers["Cache-Control"]


def test_a_changed_static_file_gets_a_new_url(tmp_path):
    (tmp_path / "site.css").write_text("body { color: black }")
    from app.static_files import Fingerprints

    fingerprints = Fingerprints(str(tmp_path), watch=True)
    before = fingerprints.digest("site.css")
    (tmp_path / "site.css").write_text("body { color: navy }")
    assert fingerprints.digest("site.css") != before
    assert fingerprints.digest("../config.py") is None
    assert fingerprints.digest("missing.css") is None


@pytest.mark.parametrize(
    ("accepted", "encoding", "decode"),
    [("br, gzip", "br", brotli.decompress), ("gzip", "gzip", gzip.decompress)],
)
def test_pages_are_compressed_for_browsers_that_accept_it(
    client, imported_course, accepted, encoding, decode
):
    plain = client.get("/courses/format-tour/basics/front-matter")
    packed = client.get(
        "/courses/format-tour/basics/front-matter", headers={"Accept-Encoding": accepted}
    )
    assert packed.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert len(packed.get_data()) < len(plain.get_data()) / 2
    assert decode(packed.get_data()) == plain.get_data()
    assert "Content-Encoding" not in plain.headers


def test_compression_keeps_the_signed_in_vary_and_no_store(app, imported_course):
    from tests.factories import make_user, sign_in

    client = app.test_client()
    sign_in(client, make_user())
    response = client.get("/dashboard", headers={"Accept-Encoding": "br"})
    assert response.headers["Content-Encoding"] == "br"
    assert response.headers["Cache-Control"] == "no-store"
    assert {v.strip() for v in response.headers["Vary"].split(",")} >= {"Cookie", "Accept-Encoding"}


def test_a_signed_in_lesson_page_is_sent_in_gzip_kept_compressed_with_the_readers_token(
    app, imported_course
):
    from tests.factories import csrf_token, make_user, sign_in

    client = app.test_client()
    sign_in(client, make_user())
    lesson = "/courses/format-tour/basics/front-matter"
    plain = client.get(lesson, headers={"Accept-Encoding": "identity"})
    packed = client.get(lesson, headers={"Accept-Encoding": "br, gzip"})
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"  # the kept form: br is made on the fly
    assert {v.strip() for v in packed.headers["Vary"].split(",")} >= {"Cookie", "Accept-Encoding"}
    assert packed.headers["Cache-Control"] == "no-store"
    page = gzip.decompress(packed.get_data())
    assert page == plain.get_data()
    assert csrf_token(page.decode()) == csrf_token(plain.get_data(as_text=True))
    # A browser that takes Brotli alone gets it, compressed for it.
    only_br = client.get(lesson, headers={"Accept-Encoding": "br, gzip;q=0"})
    assert only_br.headers["Content-Encoding"] == "br"
    assert brotli.decompress(only_br.get_data()) == plain.get_data()


def test_compression_can_be_left_to_the_reverse_proxy(app, database_url, imported_course):
    quiet = create_app(make_config(database_url, COMPRESS_RESPONSES=False))
    try:
        for application, expected in ((app, "br"), (quiet, None)):
            for page in ("/", "/courses/format-tour/basics/front-matter"):  # made, and kept
                response = application.test_client().get(page, headers={"Accept-Encoding": "br"})
                assert response.status_code == 200
                assert response.headers.get("Content-Encoding") == expected
    finally:
        close_connections(quiet)


def test_static_files_are_sent_as_they_are(client):
    with client.get("/static/css/site.css", headers={"Accept-Encoding": "br"}) as response:
        assert "Content-Encoding" not in response.headers
        assert response.get_data().startswith(b"/*") or response.get_data()


def test_json_logs_are_one_object_a_line_with_the_request(app):
    stream = io.StringIO()
    handler = json_handler(stream)
    app.logger.addHandler(handler)
    try:
        with app.test_request_context("/courses", headers={"X-Request-ID": "abc-123"}):
            app.logger.warning("something to look at")
    finally:
        app.logger.removeHandler(handler)
    record = json.loads(stream.getvalue().splitlines()[0])
    assert record["message"] == "something to look at"
    assert record["level"] == "WARNING"
    assert record["path"] == "/courses" and record["method"] == "GET"
    assert record["request_id"] == "abc-123"


def test_production_logs_json_to_the_root_logger_once(monkeypatch, database_url):
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    try:
        for _ in range(2):
            create_app(make_config(database_url, LOG_FORMAT="json"))
        added = [h for h in root.handlers if h not in before]
        assert len(added) == 1
    finally:
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)
        root.setLevel(level)


@pytest.mark.skipif(POSTGRES_URL is None, reason="needs TEST_DATABASE_URL (PostgreSQL)")
def test_after_the_database_drops_its_connections_one_request_fails_then_all_recover():
    """The production pool does not test connections before use (config.ProductionConfig):
    a restart costs each worker one failed request, and the pool replaces the rest."""
    name = "rso-pool-recovery-test"
    options = {
        "pool_pre_ping": ProductionConfig.SQLALCHEMY_ENGINE_OPTIONS["pool_pre_ping"],
        "pool_size": 2,
        "connect_args": {"application_name": name},
    }
    app = create_app(make_config(POSTGRES_URL, SQLALCHEMY_ENGINE_OPTIONS=options))
    client = app.test_client()
    admin = create_engine(POSTGRES_URL)
    try:
        assert client.get("/readyz").status_code == 200
        with admin.begin() as connection:
            dropped = connection.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name"
                ),
                {"name": name},
            )
        assert dropped == 1
        assert client.get("/readyz").json["database"] == "unreachable"
        assert [client.get("/readyz").status_code for _ in range(3)] == [200, 200, 200]
    finally:
        admin.dispose()
        close_connections(app)


@pytest.mark.parametrize("server", ["gunicorn", None])
def test_only_the_command_line_loads_the_migration_tooling(server, tmp_path):
    """alembic weighs 11 MB in every gunicorn worker, which never runs `flask db`."""
    program = (
        ("import gunicorn\n" if server else "") + "import sys\n"
        "from app import create_app\n"
        "from tests.conftest import make_config\n"
        f"app = create_app(make_config('sqlite:///{tmp_path / 'portal.sqlite3'}'))\n"
        "print('alembic' in sys.modules, 'migrate' in app.extensions)\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        check=True,
        cwd=BASE_DIR,
    ).stdout.split()
    assert loaded == (["False", "False"] if server else ["True", "True"])


def test_gunicorn_workers_collect_only_what_they_made(tmp_path):
    """The objects the master loaded before forking are frozen: a worker's full collection
    does not walk them (nor write to the pages it shares with the master)."""
    from tests.perf.server import Server

    env = {"WEB_CONCURRENCY": "1"}
    with Server(
        "tests.web.collector_probe:app", env, tmp_path / "gunicorn.log", ready_path="/"
    ) as probe:
        with urllib.request.urlopen(probe.url + "/", timeout=10) as answer:  # noqa: S310
            seen = json.loads(answer.read())
    assert seen["enabled"] == 1
    assert seen["frozen"] > 50_000  # the probe's rows, and everything imported with them
    assert seen["tracked"] < seen["frozen"] / 2


def test_flask_asks_once_whether_a_hook_or_view_is_a_coroutine(app, imported_course, monkeypatch):
    from flask import Flask

    asked: list[object] = []
    original = Flask.ensure_sync

    def counted(self, func):  # noqa: ANN001, ANN202
        asked.append(func)
        return original(self, func)

    monkeypatch.setattr(Flask, "ensure_sync", counted)
    client = app.test_client()
    assert client.get("/courses/format-tour/basics/front-matter").status_code == 200
    first = len(asked)
    assert first > 3  # the hooks before and after the request, and the view
    assert client.get("/courses/format-tour/basics/front-matter").status_code == 200
    assert len(asked) == first  # the second request found every answer kept


def test_the_limiters_hooks_wait_for_a_limit_to_be_checked(app):
    from app.extensions import limiter

    names = [
        getattr(hook, "__name__", "")
        for hooks in (app.after_request_funcs[None], app.teardown_request_funcs[None])
        for hook in hooks
    ]
    assert names.count("run_where_a_limit_was_checked") == 2
    assert limiter._check_request_limit not in app.before_request_funcs[None]
    # That a failed sign-in is still counted after its response is
    # test_the_sixth_wrong_password_in_a_minute_is_refused_even_from_a_new_address.


def test_csrf_protection_runs_only_for_the_methods_it_checks(app, imported_course, monkeypatch):
    from app.extensions import csrf
    from tests.factories import csrf_token, make_user, sign_in

    checked: list[str] = []
    original = type(csrf).protect

    def counted(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        from flask import request

        checked.append(request.method)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(csrf), "protect", counted)
    client = app.test_client()
    sign_in(client, make_user())
    checked.clear()
    lesson = "/courses/format-tour/basics/front-matter"
    page = client.get(lesson)
    assert page.status_code == 200
    assert checked == []  # a GET never asks Flask-WTF
    forged = client.post(lesson + "/complete", data={"csrf_token": "forged"})
    assert forged.status_code == 400
    assert checked == ["POST"]
    enrolled = client.post(
        "/courses/format-tour/enrol", data={"csrf_token": csrf_token(page.get_data(as_text=True))}
    )
    assert enrolled.status_code == 302
    assert checked == ["POST", "POST"]


def test_a_kept_lesson_page_names_each_vary_header_once(app, imported_course):
    from tests.factories import make_user, sign_in

    client = app.test_client()
    sign_in(client, make_user())
    packed = client.get(
        "/courses/format-tour/basics/front-matter", headers={"Accept-Encoding": "gzip"}
    )
    assert packed.headers["Content-Encoding"] == "gzip"
    # Every Vary line, not only the first: a second line would also name one twice.
    named = [v.strip().lower() for line in packed.headers.getlist("Vary") for v in line.split(",")]
    assert sorted(named) == ["accept-encoding", "cookie"]
