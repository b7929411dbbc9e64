"""A realistic region for the benchmarks, seeded once and cached.

50 countries (the Bali Process members and made-up ones), N learners spread over them as a
region's staff are (one big country with a quarter of everyone, then a long tail), the six
courses of courses/, enrolments, lessons done, quiz attempts with graded answers and
certificates for most learners. Rows are written with the driver's own bulk path (COPY on
PostgreSQL, executemany on SQLite): a 20,000-learner region is about 1.5 million rows.

A built dataset is kept (a SQLite file under instance/bench-cache/, or a PostgreSQL template
database) under a key made of the schema, the courses and this file, so a second run only
copies it. Every run works on a fresh copy, since the benchmark writes.

`plan` is what the load generator needs: the learners it may sign in as, their lessons and
their open attempts with answers, the focal points with their TOTP secrets, certificate codes.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateIndex, CreateTable

from config import BASE_DIR

PASSWORD = "correct horse battery staple"  # every seeded account's password
BIG_COUNTRY_SHARE = 0.25  # the largest country has a quarter of the region's learners
FOCAL_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
CACHE_DIR = Path(os.environ.get("BENCH_CACHE_DIR", BASE_DIR / "instance" / "bench-cache"))
SEED = 20240601
# Made-up members so that the region has 50 countries.
EXTRA_COUNTRIES = [
    ("Atlantis", "XA", "XAA"),
    ("Lemuria", "XB", "XBB"),
    ("Mu", "XC", "XCC"),
    ("Hyperborea", "XD", "XDD"),
    ("Thule", "XE", "XEE"),
]


@dataclass
class Prepared:
    """A fresh working copy of a cached dataset."""

    url: str
    plan: dict[str, Any]
    key_path: Path
    drop: Callable[[], None]


# --- the cache ------------------------------------------------------------------------


def dataset_key(learners: int, pool: int) -> str:
    """Changes when the schema, the courses, the password hashing or this seeder change."""
    from app.extensions import db  # noqa: F401  (registers the models)
    from app.models import Base
    from app.services.passwords import HASH_PARAMETERS

    digest = hashlib.sha256()
    for table in Base.metadata.sorted_tables:
        digest.update(str(CreateTable(table).compile()).encode())
        for index in sorted(table.indexes, key=lambda index: index.name or ""):
            digest.update(str(CreateIndex(index).compile()).encode())
    for path in sorted((BASE_DIR / "courses").rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(BASE_DIR)).encode() + path.read_bytes())
    digest.update(Path(__file__).read_bytes())
    digest.update(repr(sorted(HASH_PARAMETERS.items())).encode())
    digest.update(f"{learners}/{pool}".encode())
    return digest.hexdigest()[:12]


def prepare(backend: str, learners: int, *, pool: int, workdir: Path) -> Prepared:
    """A working copy of the dataset of `learners` learners, built first if not cached."""
    key = dataset_key(learners, pool)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    plan_path = CACHE_DIR / f"{backend}-{learners}-{key}.json"
    key_path = CACHE_DIR / f"signing-key-{key}.pem"
    if backend == "sqlite":
        cached = CACHE_DIR / f"{learners}-{key}.sqlite3"
        if not (cached.exists() and plan_path.exists()):
            _prune(backend, learners)
            _remove_sqlite(cached)
            building = cached.with_suffix(".building")
            _remove_sqlite(building)
            plan = build(f"sqlite:///{building}", learners, pool=pool, key_path=key_path)
            _checkpoint(f"sqlite:///{building}")
            building.rename(cached)
            plan_path.write_text(json.dumps(plan))
        target = workdir / f"bench-{learners}.sqlite3"
        shutil.copyfile(cached, target)
        return Prepared(
            f"sqlite:///{target}",
            json.loads(plan_path.read_text()),
            key_path,
            lambda: _remove_sqlite(target),
        )
    server_url = os.environ["BENCH_DATABASE_URL"]
    template = f"rso_bench_tpl_{learners}_{key}"
    server = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        exists = connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": template}
        )
    if not (exists and plan_path.exists()):
        _prune(backend, learners)
        with server.connect() as connection:
            stale = connection.scalars(
                text("SELECT datname FROM pg_database WHERE datname LIKE :prefix"),
                {"prefix": f"rso_bench_tpl_{learners}_%"},
            ).all()
            for name in stale:  # built from an older schema or seeder
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{template}"'))
        template_url = _database_url(server_url, template)
        plan = build(template_url, learners, pool=pool, key_path=key_path)
        vacuum = create_engine(template_url, isolation_level="AUTOCOMMIT")
        with vacuum.connect() as connection:
            connection.execute(text("VACUUM ANALYZE"))
        vacuum.dispose()
        plan_path.write_text(json.dumps(plan))
    name = f"rso_bench_run_{uuid.uuid4().hex[:8]}"
    with server.connect() as connection:
        connection.execute(
            text(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
        )

    def drop() -> None:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()

    return Prepared(
        _database_url(server_url, name), json.loads(plan_path.read_text()), key_path, drop
    )


def _prune(backend: str, learners: int) -> None:
    """Forget the datasets of this size built by an older schema or seeder (they are large)."""
    patterns = [f"{backend}-{learners}-*.json"]
    if backend == "sqlite":
        patterns += [f"{learners}-*.sqlite3", f"{learners}-*.building*"]
    for pattern in patterns:
        for path in CACHE_DIR.glob(pattern):
            path.unlink(missing_ok=True)


def _database_url(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _checkpoint(url: str) -> None:
    engine = create_engine(url)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.exec_driver_sql("PRAGMA journal_mode=DELETE")
    engine.dispose()


# --- building -------------------------------------------------------------------------


def build(url: str, learners: int, *, pool: int, key_path: Path) -> dict[str, Any]:
    """Create the schema, import the courses and seed the region. Returns the plan."""
    from app import create_app
    from app.authoring.importer import import_course_folder
    from app.authoring.parse import find_course_folders
    from app.extensions import db
    from app.services.countries import seed_countries
    from tests.conftest import make_config

    started = time.perf_counter()
    app = create_app(
        make_config(url, CREDENTIAL_SIGNING_KEY=str(key_path) if key_path.exists() else None)
    )
    app.instance_path = str(key_path.parent / f"instance-{uuid.uuid4().hex[:8]}")
    with app.app_context():
        db.create_all()
        folders, _ = find_course_folders(BASE_DIR / "courses")
        for folder in folders:
            outcome = import_course_folder(db.session, folder)
            assert outcome.status == "created", outcome.problems
        seed_countries(db.session)
        db.session.commit()
        plan = _Seeder(db.session, learners, pool, random.Random(SEED)).run()
        if not key_path.exists():
            generated = Path(app.instance_path) / "credential-signing-key.pem"
            shutil.copyfile(generated, key_path)
        db.session.remove()
        db.engine.dispose()
    shutil.rmtree(app.instance_path, ignore_errors=True)
    plan["seconds_to_build"] = round(time.perf_counter() - started, 1)
    return plan


@dataclass
class _Course:
    id: int
    slug: str
    version_id: int
    lessons: list[str]  # keys, in outline order
    items: list[tuple[str, str]]  # (kind, key) in outline order
    quizzes: dict[str, list[dict[str, Any]]]  # key -> questions
    title: str
    minutes: int
    number: int


class _Seeder:
    """Generates the rows with one random generator, so a dataset is the same every time."""

    def __init__(self, session, learners: int, pool: int, rng: random.Random) -> None:  # noqa: ANN001
        self.session = session
        self.learners = learners
        self.pool = pool
        self.rng = rng
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.dialect = session.get_bind().dialect.name
        # A few shapes of submitted attempt per quiz and outcome, reused: JSON is costly.
        self._layouts: dict[tuple[str, bool], list[tuple[str, str, list]]] = {}

    # -- reading what the import made

    def courses(self) -> list[_Course]:
        from app.models import Course, CourseVersion, Question, Quiz

        found = []
        rows = self.session.execute(
            select(Course, CourseVersion).join(
                CourseVersion, Course.published_version_id == CourseVersion.id
            )
        )
        for course, version in rows:
            items = [(item["kind"], item["key"]) for m in version.outline for item in m["items"]]
            quizzes: dict[str, list[dict[str, Any]]] = {}
            for quiz in self.session.scalars(select(Quiz).where(Quiz.version_id == version.id)):
                quizzes[quiz.key] = [
                    {
                        "id": q.id,
                        "kind": q.kind,
                        "choices": [c["id"] for c in q.choices],
                        "correct": [c["id"] for c in q.choices if c["correct"]],
                        "accepted": list(q.accepted_answers),
                        "provisions": list(q.provisions),
                    }
                    for q in self.session.scalars(
                        select(Question)
                        .where(Question.quiz_id == quiz.id)
                        .order_by(Question.position)
                    )
                ]
            found.append(
                _Course(
                    id=course.id,
                    slug=course.slug,
                    version_id=version.id,
                    lessons=[key for kind, key in items if kind == "lesson"],
                    items=items,
                    quizzes=quizzes,
                    title=version.title,
                    minutes=version.minutes,
                    number=version.number,
                )
            )
        return sorted(found, key=lambda c: c.id)

    # -- writing

    def bulk(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """Insert tuples through the driver: COPY on PostgreSQL, executemany on SQLite."""
        connection = self.session.connection()
        raw = connection.connection.driver_connection
        count = 0
        if self.dialect == "postgresql":
            with raw.cursor() as cursor:
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                        count += 1
            return count
        marks = ", ".join("?" for _ in columns)
        statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
        batch: list[tuple] = []
        cursor = raw.cursor()
        for row in rows:
            batch.append(tuple(self.sqlite_value(value) for value in row))
            if len(batch) == 20_000:
                cursor.executemany(statement, batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany(statement, batch)
            count += len(batch)
        cursor.close()
        return count

    @staticmethod
    def sqlite_value(value: Any) -> Any:
        # As SQLAlchemy stores them on SQLite: naive UTC text, ISO dates, 0/1.
        if isinstance(value, datetime):
            return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, bool):
            return int(value)
        return value

    def reset_sequences(self, tables: Iterable[str]) -> None:
        if self.dialect != "postgresql":
            return
        for table in tables:
            self.session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                )
            )

    # -- the region

    def run(self) -> dict[str, Any]:
        from app.models import Country
        from app.services import mastery
        from app.services.passwords import hash_password

        session, rng, now = self.session, self.rng, self.now
        courses = self.courses()
        existing = {c.code for c in session.scalars(select(Country))}
        for name, code, code3 in EXTRA_COUNTRIES:
            if code not in existing:
                session.add(Country(name=name, code=code, code3=code3))
        session.flush()
        countries = list(session.execute(select(Country.id, Country.code).order_by(Country.id)))
        assert len(countries) == 50, len(countries)
        big = next(index for index, (_, code) in enumerate(countries) if code == "ID")
        order = [big] + [index for index in range(len(countries)) if index != big]
        # A quarter in the big country, the rest falling off with the country's rank.
        weights = [1 / (rank + 1) ** 0.8 for rank in range(1, len(order))]
        rest = self.learners - round(self.learners * BIG_COUNTRY_SHARE)
        sizes = [round(self.learners * BIG_COUNTRY_SHARE)] + [
            max(1, round(rest * w / sum(weights))) for w in weights
        ]
        sizes[-1] += self.learners - sum(sizes)
        password_hash = hash_password(PASSWORD)

        users: list[tuple] = []
        learner_country: list[tuple[int, int]] = []  # (user id, country id)
        focal_points = []
        next_id = 1
        users.append(self.user_row(next_id, "admin@rso.example.org", "RSO Admin", None, "admin",
                                   password_hash, totp=True))  # fmt: skip
        admin_id = next_id
        next_id += 1
        for rank, index in enumerate(order):
            country_id, code = countries[index]
            focal_email = f"focal.{code.lower()}@example.gov"
            users.append(self.user_row(next_id, focal_email, f"Focal point {code}", country_id,
                                       "focal_point", password_hash, totp=True))  # fmt: skip
            focal_points.append(
                {"email": focal_email, "country": code, "staff": sizes[rank], "id": next_id}
            )
            next_id += 1
            for number in range(sizes[rank]):
                users.append(
                    self.user_row(next_id, f"learner.{code.lower()}.{number:06d}@example.gov",
                                  self.name(), country_id, "learner", password_hash)
                )  # fmt: skip
                learner_country.append((next_id, country_id))
                next_id += 1
        self.bulk("users", USER_COLUMNS, users)
        ended_sessions = self.bulk("user_sessions", SESSION_COLUMNS, self.ended_sessions(next_id))

        # Pool learners (those the load generator signs in as) are spread over the countries.
        learners = learner_country
        pool_ids = {user_id for user_id, _ in rng.sample(learners, min(self.pool, len(learners)))}
        plan_pool: list[dict[str, Any]] = []
        enrolments: list[tuple] = []
        lessons: list[tuple] = []
        attempts: list[tuple] = []
        responses: list[tuple] = []
        completions: list[tuple[int, int, int, datetime]] = []  # enrolment, user, course, when
        ids = {"enrolment": 0, "lesson": 0, "attempt": 0, "response": 0}
        course_weights = [3 if c.slug == "untoc-essentials" else 1 for c in courses]
        for user_id, _country_id in learners:
            is_pool = user_id in pool_ids
            count = 3 if is_pool else rng.choices([1, 2, 3, 4, 6], [20, 30, 30, 15, 5])[0]
            taken = self.pick_courses(courses, course_weights, count)
            entry: dict[str, Any] = {"id": user_id, "courses": [], "attempts": []}
            for course in taken:
                ids["enrolment"] += 1
                enrolment_id = ids["enrolment"]
                enrolled_at = now - timedelta(days=rng.randint(20, 400))
                roll = rng.random()
                status = (
                    "in_progress"
                    if is_pool
                    else "completed"
                    if roll < 0.15
                    else "in_progress"
                    if roll < 0.75
                    else "not_started"
                )
                if status == "completed":
                    done = len(course.items)
                elif status == "in_progress":
                    done = rng.randint(1, len(course.items) - 1)
                else:
                    done = 0
                if is_pool:
                    # Lessons only, no quiz passed, and the last lesson left: the benchmark's
                    # writes never complete a course (issuing is measured elsewhere).
                    done = min(done, len(course.items) - 2)
                when = enrolled_at + timedelta(days=1)
                last_activity = None
                for kind, key in course.items[:done]:
                    when += timedelta(hours=rng.randint(1, 72))
                    when = min(when, now - timedelta(hours=1))
                    last_activity = when
                    if kind == "lesson":
                        if is_pool and key == course.lessons[-1]:
                            continue
                        ids["lesson"] += 1
                        lessons.append((ids["lesson"], user_id, course.id, key, when))
                    elif not is_pool:
                        tries = [False, True] if rng.random() < 0.3 else [True]
                        for number, passed in enumerate(tries, start=1):
                            self.attempt(ids, attempts, responses, user_id, course, key,
                                         number, passed, when)  # fmt: skip
                next_item = course.items[done] if done < len(course.items) else None
                if next_item and next_item[0] == "quiz" and not is_pool and rng.random() < 0.3:
                    self.attempt(ids, attempts, responses, user_id, course, next_item[1], 1,
                                 False, when)  # fmt: skip
                    last_activity = when
                if status == "in_progress" and last_activity is None:
                    last_activity = when
                completed_at = when if status == "completed" else None
                due_on = (
                    (enrolled_at + timedelta(days=rng.randint(30, 240))).date()
                    if rng.random() < 0.6
                    else None
                )
                enrolments.append(
                    (enrolment_id, user_id, course.id, enrolled_at, None, due_on, None,
                     completed_at, course.version_id if completed_at else None, last_activity)
                )  # fmt: skip
                if completed_at is not None:
                    completions.append((enrolment_id, user_id, course.id, completed_at))
                if is_pool:
                    entry["courses"].append(
                        {
                            "slug": course.slug,
                            "lessons": [k for k in course.lessons[:-1]],
                            "quizzes": list(course.quizzes),
                        }
                    )
                    for quiz_key, questions in course.quizzes.items():
                        ids["attempt"] += 1
                        layout = self.layout(questions)
                        attempts.append(
                            (ids["attempt"], user_id, course.id, quiz_key, course.version_id, 1,
                             now - timedelta(minutes=5), None, None, None, None, json.dumps(layout),
                             "{}", False)
                        )  # fmt: skip
                        entry["attempts"].append(
                            {
                                "id": ids["attempt"],
                                "answers": self.form_answers(questions),
                            }
                        )
            if is_pool:
                plan_pool.append(entry)

        self.bulk("enrollments", ENROLMENT_COLUMNS, enrolments)
        self.bulk("lesson_progress", LESSON_COLUMNS, lessons)
        self.bulk("quiz_attempts", ATTEMPT_COLUMNS, attempts)
        self.bulk("question_responses", RESPONSE_COLUMNS, responses)
        # Answers written in bulk, not graded: their countries' mastery totals in one statement.
        mastery.rebuild(session)
        codes = self.certificates(courses, completions, users)
        self.reset_sequences(
            ["users", "user_sessions", "countries", "enrollments", "lesson_progress",
             "quiz_attempts", "question_responses", "certificates"]
        )  # fmt: skip
        session.commit()
        emails = {row[0]: row[1] for row in users}
        for entry in plan_pool:
            entry["email"] = emails[entry["id"]]
        sample = random.Random(SEED + 1)
        return {
            "learners": self.learners,
            "password": PASSWORD,
            "totp_secret": FOCAL_TOTP_SECRET,
            "admin": emails[admin_id],
            "pool": plan_pool,
            "focal_points": focal_points,
            "certificates": sample.sample(codes, min(2000, len(codes))),
            "rows": {
                "users": len(users),
                "user_sessions": ended_sessions,
                "enrollments": len(enrolments),
                "lesson_progress": len(lessons),
                "quiz_attempts": len(attempts),
                "question_responses": len(responses),
                "certificates": len(codes),
            },
        }

    def ended_sessions(self, users: int) -> Iterator[tuple]:
        """One to three sessions of each person that have ended (expired, or signed out): a
        region's table of sessions is never empty, and PostgreSQL plans the sign-in lookup by
        the table's statistics (an empty table's make it scan the table on every request, at
        a cost growing with every sign-in). From a generator of its own, so that the rest of
        the region is what it was without them."""
        history = random.Random(SEED + 2)
        session_id = 0
        for user_id in range(1, users):
            for _ in range(history.randint(1, 3)):
                session_id += 1
                created = self.now - timedelta(days=history.randint(2, 400))
                last_seen = created + timedelta(minutes=history.randint(1, 240))
                expires = created + timedelta(hours=12)
                revoked = last_seen if history.random() < 0.4 else None
                yield (session_id, user_id, f"{history.getrandbits(256):064x}", False, created,
                       last_seen, expires, revoked, None, None)  # fmt: skip

    def pick_courses(self, courses: list[_Course], weights: list[int], count: int) -> list[_Course]:
        chosen: list[_Course] = []
        while len(chosen) < min(count, len(courses)):
            course = self.rng.choices(courses, weights)[0]
            if course not in chosen:
                chosen.append(course)
        return chosen

    def user_row(
        self,
        user_id: int,
        email: str,
        name: str,
        country_id: int | None,
        role: str,
        password_hash: str,
        *,
        totp: bool = False,
    ) -> tuple:
        created = self.now - timedelta(days=500)
        return (user_id, email, password_hash, name, country_id, role, "en", True, False,
                FOCAL_TOTP_SECRET if totp else None, created if totp else None, None, "[]",
                created, None, None)  # fmt: skip

    FIRST = ["Budi", "Siti", "Nguyen", "Anura", "Farzana", "Somchai", "Maria", "Ahmad", "Li",
             "Priya", "Tevita", "Aroha", "Kenji", "Dewi", "Rahim", "Grace"]  # fmt: skip
    LAST = ["Santoso", "Rahmawati", "Thi Huong", "Perera", "Akter", "Jaidee", "Reyes", "Khan",
            "Wei", "Sharma", "Fifita", "Ngata", "Sato", "Lestari", "Uddin", "Kaua"]  # fmt: skip

    def name(self) -> str:
        return f"{self.rng.choice(self.FIRST)} {self.rng.choice(self.LAST)}"

    def layout(self, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        order = list(questions)
        self.rng.shuffle(order)
        layout = []
        for question in order:
            choices = list(question["choices"])
            if question["kind"] != "true_false":
                self.rng.shuffle(choices)
            layout.append({"question": question["id"], "choices": choices})
        return layout

    def form_answers(self, questions: list[dict[str, Any]]) -> list[list[str]]:
        """The form fields a learner sends: right most of the time, as (name, value) pairs."""
        fields = []
        for question in questions:
            name = f"q{question['id']}"
            right = self.rng.random() < 0.7
            if question["kind"] == "short":
                answer = question["accepted"][0] if right and question["accepted"] else "unsure"
                fields.append([name, answer])
            elif question["kind"] == "multiple":
                chosen = question["correct"] if right else question["choices"][:1]
                fields.extend([name, choice] for choice in chosen)
            else:
                wrong = [c for c in question["choices"] if c not in question["correct"]]
                choice = question["correct"][0] if right or not wrong else self.rng.choice(wrong)
                fields.append([name, choice])
        return fields

    def attempt(
        self,
        ids: dict[str, int],
        attempts: list[tuple],
        responses: list[tuple],
        user_id: int,
        course: _Course,
        quiz_key: str,
        number: int,
        passed: bool,
        when: datetime,
    ) -> None:
        """A submitted attempt and its graded answers (a few shapes per quiz, reused)."""
        questions = course.quizzes[quiz_key]
        shapes = self._layouts.setdefault((f"{course.id}/{quiz_key}", passed), [])
        if len(shapes) < 6:
            marks = [
                (q["id"], 1.0 if passed or self.rng.random() < 0.4 else 0.0) for q in questions
            ]
            if passed:
                misses = self.rng.randint(0, max(0, len(marks) // 5))
                for index in self.rng.sample(range(len(marks)), misses):
                    marks[index] = (marks[index][0], 0.0)
            answers = {
                str(q["id"]): (q["correct"] if mark else q["choices"][:1])
                if q["kind"] != "short"
                else (q["accepted"][0] if mark and q["accepted"] else "unsure")
                for q, (_, mark) in zip(questions, marks, strict=True)
            }
            shapes.append((json.dumps(self.layout(questions)), json.dumps(answers), marks))
        layout, answers, marks = self.rng.choice(shapes)
        score = round(100 * sum(m for _, m in marks) / len(marks), 2) if marks else 0.0
        ids["attempt"] += 1
        attempt_id = ids["attempt"]
        attempts.append(
            (attempt_id, user_id, course.id, quiz_key, course.version_id, number,
             when - timedelta(minutes=12), None, when, score, passed, layout, answers, False)
        )  # fmt: skip
        for question_id, mark in marks:
            ids["response"] += 1
            responses.append((ids["response"], attempt_id, question_id, user_id, course.id,
                              mark, when))  # fmt: skip

    def certificates(
        self,
        courses: list[_Course],
        completions: list[tuple[int, int, int, datetime]],
        users: list[tuple],
    ) -> list[str]:
        """One certificate issued for real; the others carry a copy of its credential (the
        public check reads the row, not the signature)."""
        from app.extensions import certificate_authority
        from app.models import Certificate, CourseVersion, Enrollment
        from app.services.certificate_codes import new_code

        if not completions:
            return []
        self.session.commit()
        first = completions[0]
        enrollment = self.session.get(Enrollment, first[0])
        version = self.session.get(CourseVersion, enrollment.completed_version_id)
        issued = certificate_authority.issue(self.session, enrollment, version)
        self.session.flush()
        credential = json.dumps(issued.credential)
        names = {row[0]: row[3] for row in users}
        by_id = {course.id: course for course in courses}
        codes = [issued.code]
        rows = []
        # Status list positions: any free ones (the real one may have drawn any position).
        positions = (n for n in range(len(completions) + 1) if n != issued.status_index)
        for number, (_, user_id, course_id, when) in enumerate(completions[1:], start=1):
            course = by_id[course_id]
            code = new_code()
            codes.append(code)
            rows.append(
                (number + issued.id, code, user_id, course_id, course.version_id,
                 next(positions), when, None, None, None, None, names[user_id], course.title,
                 course.number, round(course.minutes / 60, 1), issued.issuer_name, credential,
                 None)
            )  # fmt: skip
        self.bulk("certificates", CERTIFICATE_COLUMNS, rows)
        assert Certificate.__tablename__ == "certificates"
        return codes


USER_COLUMNS = (
    "id", "email", "password_hash", "display_name", "country_id", "role", "language",
    "is_active", "pending_approval", "totp_secret", "totp_enabled_at", "totp_last_step",
    "recovery_code_hashes", "created_at", "last_login_at", "password_changed_at",
)  # fmt: skip
ENROLMENT_COLUMNS = (
    "id", "user_id", "course_id", "enrolled_at", "enrolled_by_id", "due_on", "unenrolled_at",
    "completed_at", "completed_version_id", "last_activity_at",
)  # fmt: skip
LESSON_COLUMNS = ("id", "user_id", "course_id", "item_key", "completed_at")
SESSION_COLUMNS = (
    "id", "user_id", "token_hash", "remember", "created_at", "last_seen_at", "expires_at",
    "revoked_at", "ip_address", "user_agent",
)  # fmt: skip
ATTEMPT_COLUMNS = (
    "id", "user_id", "course_id", "quiz_key", "version_id", "number", "started_at", "deadline",
    "submitted_at", "score", "passed", "layout", "answers", "submitted_late",
)  # fmt: skip
RESPONSE_COLUMNS = (
    "id", "attempt_id", "question_id", "user_id", "course_id", "mark", "answered_at",
)  # fmt: skip
CERTIFICATE_COLUMNS = (
    "id", "code", "user_id", "course_id", "version_id", "status_index", "issued_at",
    "expires_at", "revoked_at", "revocation_reason", "revoked_by_id", "learner_name",
    "course_title", "course_version", "hours", "issuer_name", "credential", "replaces_id",
)  # fmt: skip
