"""Browser journeys: a real Chromium (Debian's, through Playwright) against the app on loopback.

No browser is downloaded: Playwright drives the system Chromium by its executable path. Where
Chromium is missing the tests skip with a message, except under CI=true, where they fail.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from app import create_app
from app.authoring.importer import import_course_folder
from app.authoring.parse import find_course_folders
from app.extensions import db
from app.services.countries import seed_countries
from tests.conftest import FIXTURE_COURSES, ROOT, make_config

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    candidates = [os.environ.get("CHROMIUM_PATH"), shutil.which("chromium"), "/usr/bin/chromium"]
    return next((c for c in candidates if c and Path(c).is_file()), None)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    executable = chromium_path()
    if executable is None:
        message = "Chromium not found (apt-get install chromium, or set CHROMIUM_PATH)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}; under CI the browser tests must run")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class LiveServer:
    url: str
    app: Flask
    outbox: Path

    def messages_to(self, address: str) -> list[EmailMessage]:
        found = [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in sorted(self.outbox.glob("*.eml"))
        ]
        return [message for message in found if message["To"] == address]

    def link_for(self, address: str) -> str:
        """The portal link in the latest message to this address, made absolute for the test."""
        body = self.messages_to(address)[-1].get_content()
        path = re.search(r"https?://[^/\s]+(/\S+)", body).group(1)
        return f"{self.url}{path}"


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The portal served over real HTTP on a free loopback port, with every course imported."""
    folder = tmp_path_factory.mktemp("e2e")
    app = create_app(make_config(f"sqlite:///{folder / 'e2e.sqlite3'}"))
    app.instance_path = str(folder / "instance")
    with app.app_context():
        db.create_all()
        seed_countries(db.session)
        for source in (FIXTURE_COURSES, ROOT / "courses"):
            if source.is_dir():
                for course in find_course_folders(source)[0]:
                    outcome = import_course_folder(db.session, course)
                    assert outcome.status != "rejected", outcome.problems
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(
            url=f"http://127.0.0.1:{server.server_port}",
            app=app,
            outbox=Path(app.instance_path) / "outbox",
        )
    finally:
        server.shutdown()
        thread.join(timeout=5)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context()
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def assert_accessible():
    """Runs axe-core on the page and fails on any serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()

    def check(page) -> None:
        results = axe.run(page)
        bad = [
            f"{violation['id']} ({violation['impact']}): {violation['help']} "
            f"at {[node['target'] for node in violation['nodes']][:3]}"
            for violation in results.response["violations"]
            if violation.get("impact") in ("serious", "critical")
        ]
        assert bad == [], f"axe-core on {page.url}:\n" + "\n".join(bad)

    return check
