"""The load generator: a second process that signs in as the seeded people and drives pages.

`python -m tests.perf.loadgen --portal URL --floor URL --plan plan.json --out results.json`

A small asyncio HTTP/1.1 client (no dependency, a few tens of microseconds of CPU a request, so
it takes as little as possible of the cores it shares with the server). Each virtual user sends
its next request as soon as the last one answered (a closed loop with no think time: the
hardest case for the server). It keeps connections alive (`--keep-alive`) as a reverse proxy
in front of the application servers does, else opens a new one per request. Like the proxy
(nginx's `keepalive_requests`), it closes a kept-alive connection after a number of requests
(`--requests-per-connection`, 100): each new connection falls on a gunicorn worker the kernel
picks (`reuse_port`), and 8 connections kept for a whole line fell unevenly often enough to
cost a line half its throughput (in one run, every PostgreSQL page at 8 users made 55-70% of
its throughput at 32).

Every virtual user signs in as its own learners (the form with its CSRF token, and the TOTP
code for focal points) before anything is timed; redirects are not followed, a POST is timed
alone. Results: per scenario and number of users, the requests per second that succeeded,
p50/p90/p99 latency and the errors, as JSON; given the servers' process ids, also the CPU time
each request cost the server (its master and workers) and this client, over the measured part:
on a machine kept busy, a page's share of the floor is the floor's CPU per request over its own.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import json
import random
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import psutil

CSRF_FIELD = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)
IDLE_SECONDS = 3.0  # reuse a kept-alive connection only this long (gunicorn keeps it 5 s)
REQUESTS_PER_CONNECTION = 100
BROWSER_HEADERS = [
    ("User-Agent", "rso-bench/1"),
    ("Accept", "text/html,application/xhtml+xml"),
    ("Accept-Encoding", "br, gzip"),
    ("Accept-Language", "en"),
]


@dataclass
class Response:
    status: int
    headers: dict[str, list[str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    def text(self) -> str:
        """The body as a browser shows it (decompressed); only the sign-in reads it."""
        encoding = self.header("content-encoding")
        body = self.body
        if encoding == "br":
            import brotli

            body = brotli.decompress(body)
        elif encoding == "gzip":
            import gzip

            body = gzip.decompress(body)
        return body.decode("utf-8", "replace")


class HttpError(Exception):
    pass


class Client:
    """HTTP/1.1 to one host; a new connection per request unless keep_alive."""

    def __init__(
        self,
        base: str,
        *,
        keep_alive: bool = False,
        requests_per_connection: int = REQUESTS_PER_CONNECTION,
    ) -> None:
        parts = urlsplit(base)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.keep_alive = keep_alive
        self.requests_per_connection = requests_per_connection
        # Kept-alive connections: reader, writer, when last used, requests sent on it.
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float, int]] = []

    async def request(
        self,
        method: str,
        path: str,
        *,
        cookies: dict[str, str] | None = None,
        form: list[tuple[str, str]] | dict[str, str] | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> Response:
        body = urlencode(form).encode() if form is not None else b""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in (headers or BROWSER_HEADERS)]
        if cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()))
        if form is not None:
            lines.append("Content-Type: application/x-www-form-urlencoded")
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        lines.append("Connection: keep-alive" if self.keep_alive else "Connection: close")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        while self._idle:
            reader, writer, since, served = self._idle.pop()
            if time.monotonic() - since > IDLE_SECONDS:
                writer.close()  # the server may have closed it already: don't race it
                continue
            try:
                writer.write(raw)
                response, reusable = await self._read(reader)
            except (HttpError, ConnectionError):
                # Closed by the server between two requests: send again on a new connection,
                # as a browser or a proxy does.
                writer.close()
                continue
            except BaseException:
                writer.close()
                raise
            self._finish(reader, writer, reusable, served + 1)
            return response
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(raw)
            response, reusable = await self._read(reader)
        except BaseException:
            writer.close()
            raise
        self._finish(reader, writer, reusable, 1)
        return response

    async def close(self) -> None:
        """Close the kept-alive connections."""
        while self._idle:
            _, writer, _, _ = self._idle.pop()
            writer.close()
            await writer.wait_closed()

    def _finish(self, reader, writer, reusable: bool, served: int) -> None:  # noqa: ANN001
        if self.keep_alive and reusable and served < self.requests_per_connection:
            self._idle.append((reader, writer, time.monotonic(), served))
        else:
            writer.close()

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> tuple[Response, bool]:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as error:
            raise HttpError("connection closed before a response") from error
        lines = head.decode("latin-1").split("\r\n")
        version, status = lines[0].split(" ", 2)[:2]
        headers: dict[str, list[str]] = collections.defaultdict(list)
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()].append(value.strip())
        length = headers.get("content-length")
        if length:
            body = await reader.readexactly(int(length[0]))
        elif "chunked" in ",".join(headers.get("transfer-encoding", [])):
            chunks = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    break
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
            body = b"".join(chunks)
        else:
            body = await reader.read()
            return Response(int(status), dict(headers), body), False
        closing = "close" in ",".join(headers.get("connection", [])).lower()
        return Response(int(status), dict(headers), body), not closing and version == "HTTP/1.1"


@dataclass
class Identity:
    """A signed-in person: their cookies and the CSRF token of their session."""

    email: str
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def remember(self, response: Response) -> None:
        for header in response.headers.get("set-cookie", []):
            pair, _, attributes = header.partition(";")
            name, _, value = pair.strip().partition("=")
            lowered = attributes.lower()
            if "max-age=0" in lowered or "expires=thu, 01 jan 1970" in lowered:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value


def csrf_of(page: Response) -> str:
    match = CSRF_FIELD.search(page.text())
    if not match:
        raise HttpError("no CSRF token in the page")
    return match.group(1) or match.group(2)


SIGN_IN_RETRIES: collections.Counter[str] = collections.Counter()


async def sign_in(client: Client, email: str, password: str, totp_secret: str | None) -> Identity:
    """Sign in, again after a failure: on SQLite concurrent sign-ins can meet "database is
    locked" (counted and reported; the timed phases never retry)."""
    for attempt in range(10):
        try:
            return await _sign_in(client, email, password, totp_secret)
        except HttpError as error:
            SIGN_IN_RETRIES[str(error).split(":")[-1].strip()] += 1
            if attempt == 9:
                raise
            await asyncio.sleep(0.2 + random.random())  # noqa: S311
    raise AssertionError("unreachable")


async def _sign_in(client: Client, email: str, password: str, totp_secret: str | None) -> Identity:
    """The sign-in form as a browser sends it, then the second step when there is one."""
    who = Identity(email)
    page = await client.request("GET", "/auth/login", cookies=who.cookies)
    who.remember(page)
    answer = await client.request(
        "POST",
        "/auth/login",
        cookies=who.cookies,
        form={"csrf_token": csrf_of(page), "email": email, "password": password},
    )
    who.remember(answer)
    if answer.status != 302:
        raise HttpError(f"sign-in of {email}: HTTP {answer.status}")
    if "/auth/login/code" in (answer.header("location") or ""):
        import pyotp

        page = await client.request("GET", "/auth/login/code", cookies=who.cookies)
        who.remember(page)
        answer = await client.request(
            "POST",
            "/auth/login/code",
            cookies=who.cookies,
            form={"csrf_token": csrf_of(page), "code": pyotp.TOTP(totp_secret).now()},
        )
        who.remember(answer)
        if answer.status != 302:
            raise HttpError(f"second step of {email}: HTTP {answer.status}")
    page = await client.request("GET", "/dashboard", cookies=who.cookies)
    who.remember(page)
    if page.status != 200:
        raise HttpError(f"dashboard of {email} after sign-in: HTTP {page.status}")
    who.csrf = csrf_of(page)
    return who


async def gather_limited(coroutines: list, limit: int) -> list:
    semaphore = asyncio.Semaphore(limit)

    async def run(coroutine):  # noqa: ANN001, ANN202
        async with semaphore:
            return await coroutine

    return await asyncio.gather(*(run(c) for c in coroutines))


# --- scenarios: what one virtual user asks next ------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    who: Identity | None = None
    form: list[tuple[str, str]] | None = None
    expect: tuple[int, ...] = (200,)


class Scenario:
    name = ""

    def __init__(self, people: People) -> None:
        self.people = people

    def next(self, user: int, users: int) -> Request | None:
        raise NotImplementedError


class People:
    """Everyone the run signs in as, and the work they share out."""

    def __init__(self, plan: dict[str, Any], learners: list[Identity], focal: list[Identity]):
        self.plan = plan
        self.learners = learners
        self.focal = focal
        self.rng = random.Random(7)
        # Every open attempt once, learners interleaved so concurrent users rarely share one.
        by_learner = [[(who, a) for a in who.data["attempts"]] for who in learners]
        self.attempts = collections.deque(
            pair for group in itertools.zip_longest(*by_learner) for pair in group if pair
        )
        self.submitted = 0

    def learners_of(self, user: int, users: int) -> list[Identity]:
        return self.learners[user::users] or self.learners


def _lesson_path(course: dict[str, Any], key: str) -> str:
    module, item = key.split("/")
    return f"/courses/{course['slug']}/{module}/{item}"


class Catalogue(Scenario):
    name = "catalogue"

    def next(self, user: int, users: int) -> Request:
        return Request("GET", "/courses")


class LessonPage(Scenario):
    name = "lesson page (learner)"

    def __init__(self, people: People) -> None:
        super().__init__(people)
        self.turn = collections.Counter()

    def next(self, user: int, users: int) -> Request:
        mine = self.people.learners_of(user, users)
        n = self.turn[user]
        self.turn[user] += 1
        who = mine[n % len(mine)]
        course = who.data["courses"][n % len(who.data["courses"])]
        key = course["lessons"][(n // 3) % len(course["lessons"])]
        return Request("GET", _lesson_path(course, key), who)


class MarkComplete(LessonPage):
    name = "mark complete (POST)"

    def next(self, user: int, users: int) -> Request:
        page = super().next(user, users)
        return Request(
            "POST",
            page.path + "/complete",
            page.who,
            [("csrf_token", page.who.csrf)],
            expect=(302,),
        )


class QuizSubmit(Scenario):
    name = "quiz submit (POST)"

    def next(self, user: int, users: int) -> Request | None:
        if not self.people.attempts:
            return None  # the pool of open attempts is used up (reported)
        who, attempt = self.people.attempts.popleft()
        form = [("csrf_token", who.csrf), *map(tuple, attempt["answers"]), ("action", "submit")]
        self.people.submitted += 1
        return Request("POST", f"/attempts/{attempt['id']}", who, form, expect=(302,))


class Dashboard(LessonPage):
    name = "learner dashboard"

    def next(self, user: int, users: int) -> Request:
        page = super().next(user, users)
        return Request("GET", "/dashboard", page.who)


class FocalReport(Scenario):
    """The report of a country chosen at random: every country's focal point asks alike."""

    name = "focal point report"

    def next(self, user: int, users: int) -> Request:
        return Request("GET", "/focal/report", self.people.rng.choice(self.people.focal))


class CertificateCheck(Scenario):
    name = "certificate check (public)"

    def next(self, user: int, users: int) -> Request:
        code = self.people.rng.choice(self.people.plan["certificates"])
        return Request("GET", f"/verify/{code}")


class Floor(Scenario):
    name = "floor: lesson bytes, minimal route"

    def __init__(self, people: People, path: str) -> None:
        super().__init__(people)
        self.path = path

    def next(self, user: int, users: int) -> Request:
        return Request("GET", self.path)


class KeptFloor(Floor):
    """The strict floor: the same bytes compressed once, as a kept lesson page is sent."""

    name = "floor: lesson bytes compressed once"

    def next(self, user: int, users: int) -> Request:
        return Request("GET", "/kept" + self.path)


SCENARIOS = {
    "catalogue": Catalogue,
    "lesson": LessonPage,
    "mark_complete": MarkComplete,
    "quiz_submit": QuizSubmit,
    "dashboard": Dashboard,
    "focal_report": FocalReport,
    "certificate": CertificateCheck,
}


# --- running ------------------------------------------------------------------------------


def percentile(sorted_values: list[float], share: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(share * (len(sorted_values) - 1))))
    return sorted_values[index]


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and its children so far (a worker that exited
    took its own with it)."""
    total = 0.0
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return total
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


async def run_phase(
    client: Client,
    scenario: Scenario,
    users: int,
    *,
    warmup: float,
    duration: float,
    server_pid: int | None = None,
) -> dict[str, Any]:
    """`users` virtual users in a closed loop for warmup + duration seconds; the warm-up is
    not counted."""
    started = time.perf_counter()
    counted_from = started + warmup
    until = counted_from + duration
    cpu: dict[str, float] = {}

    async def measure_cpu() -> None:
        await asyncio.sleep(max(0.0, counted_from - time.perf_counter()))
        cpu["server"] = -cpu_seconds(server_pid) if server_pid else 0.0
        cpu["client"] = -time.process_time()
        await asyncio.sleep(max(0.0, until - time.perf_counter()))
        cpu["server"] += cpu_seconds(server_pid) if server_pid else 0.0
        cpu["client"] += time.process_time()

    latencies: list[float] = []
    errors: collections.Counter[str] = collections.Counter()
    ok = 0
    exhausted = False

    async def user(number: int) -> None:
        nonlocal ok, exhausted
        while time.perf_counter() < until:
            request = scenario.next(number, users)
            if request is None:
                exhausted = True
                return
            who = request.who
            begin = time.perf_counter()
            try:
                response = await client.request(
                    request.method,
                    request.path,
                    cookies=who.cookies if who else None,
                    form=request.form,
                )
                problem = (
                    None
                    if response.status in request.expect
                    else f"HTTP {response.status} {request.method} {request.path.split('/')[1]}"
                )
                if who is not None:
                    who.remember(response)
            except (OSError, HttpError, asyncio.IncompleteReadError) as error:
                problem = type(error).__name__
            end = time.perf_counter()
            if begin >= counted_from and end <= until:
                latencies.append(end - begin)
                if problem is None:
                    ok += 1
                else:
                    errors[problem] += 1

    await asyncio.gather(measure_cpu(), *(user(n) for n in range(users)))
    elapsed = min(time.perf_counter(), until) - counted_from
    latencies.sort()
    return {
        "scenario": scenario.name,
        "users": users,
        "requests": len(latencies),
        "ok": ok,
        "errors": sum(errors.values()),
        "error_kinds": dict(errors.most_common(5)),
        "rps": ok / elapsed if elapsed > 0 else 0.0,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p90_ms": percentile(latencies, 0.90) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": (latencies[-1] if latencies else float("nan")) * 1000,
        "pool_exhausted": exhausted,
        "server_cpu_ms": 1000 * cpu["server"] / ok if ok and server_pid else None,
        "client_cpu_ms": 1000 * cpu["client"] / ok if ok else None,
    }


async def series(client: Client, request: Request, count: int) -> dict[str, Any]:
    """One user, one request after another: the latency of a page on an idle server."""
    latencies, errors = [], 0
    for _ in range(count):
        begin = time.perf_counter()
        response = await client.request(
            request.method, request.path, cookies=request.who.cookies if request.who else None
        )
        latencies.append(time.perf_counter() - begin)
        errors += response.status not in request.expect
    latencies.sort()
    return {
        "requests": count,
        "errors": errors,
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "bytes": len(response.body),
    }


def log(message: str) -> None:
    print(f"  [loadgen] {message}", file=sys.stderr, flush=True)


async def main(arguments: argparse.Namespace) -> dict[str, Any]:
    plan = json.loads(Path(arguments.plan).read_text())
    kept = {
        "keep_alive": arguments.keep_alive,
        "requests_per_connection": arguments.requests_per_connection,
    }
    portal = Client(arguments.portal, **kept)
    floor = Client(arguments.floor, **kept)
    levels = [int(n) for n in arguments.users.split(",")]
    started = time.perf_counter()
    pool = plan["pool"][: arguments.learners]
    learners = await gather_limited(
        [sign_in(portal, entry["email"], plan["password"], None) for entry in pool],
        arguments.sign_in_concurrency,
    )
    for who, entry in zip(learners, pool, strict=True):
        who.data = entry
    focal = await gather_limited(
        [sign_in(portal, fp["email"], plan["password"], plan["totp_secret"])
         for fp in plan["focal_points"]],
        arguments.sign_in_concurrency,
    )  # fmt: skip
    log(f"signed in {len(learners)} learners, {len(focal)} focal points "
        f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
    results: dict[str, Any] = {"phases": [], "sign_in_retries": dict(SIGN_IN_RETRIES)}
    people = People(plan, learners, focal)

    # The floor serves exactly the bytes of a lesson page as the learner got it.
    first = learners[0].data["courses"][0]
    lesson_path = _lesson_path(first, first["lessons"][0])
    identity_headers = [h for h in BROWSER_HEADERS if h[0] != "Accept-Encoding"]
    page = await portal.request(
        "GET", lesson_path, cookies=learners[0].cookies, headers=identity_headers
    )
    assert page.status == 200, page.status
    Path(arguments.floor_body).write_bytes(page.body)
    results["lesson_bytes"] = len(page.body)

    async def phase(scenario: Scenario, users: int) -> None:
        on_floor = isinstance(scenario, Floor)
        result = await run_phase(
            floor if on_floor else portal,
            scenario,
            users,
            warmup=arguments.warmup,
            duration=arguments.duration,
            server_pid=arguments.floor_pid if on_floor else arguments.portal_pid,
        )
        results["phases"].append(result)
        log(f"{scenario.name:34} {users:3} users  {result['rps']:7.1f} req/s  "
            f"p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:7.1f} ms  "
            f"errors {result['errors']}")  # fmt: skip

    floors = (KeptFloor(people, lesson_path), Floor(people, lesson_path))
    for floor_scenario in floors:
        for users in levels:
            await phase(floor_scenario, users)
    for name in arguments.scenarios.split(","):
        scenario = SCENARIOS[name](people)
        for users in levels:
            await phase(scenario, users)
    # The floors again at the end: the machine's speed drifts; pages compare with the mean.
    for floor_scenario in floors:
        for users in levels:
            await phase(floor_scenario, users)
    results["submitted"] = people.submitted

    big = next(fp for fp, who in zip(plan["focal_points"], focal, strict=True)
               if fp["staff"] == max(f["staff"] for f in plan["focal_points"]))  # fmt: skip
    big_who = focal[plan["focal_points"].index(big)]
    results["big_report"] = {
        "staff": big["staff"],
        **await series(portal, Request("GET", "/focal/report", big_who), arguments.series),
    }
    results["big_report_csv"] = {
        "staff": big["staff"],
        **await series(portal, Request("GET", "/focal/report.csv", big_who), 5),
    }
    log(f"report of {big['staff']} staff, one user: p50 {results['big_report']['p50_ms']:.0f} ms")
    await portal.close()
    await floor.close()
    return results


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portal", required=True)
    parser.add_argument("--floor", required=True)
    parser.add_argument("--portal-pid", type=int, help="the portal's gunicorn master")
    parser.add_argument("--floor-pid", type=int, help="the floor's gunicorn master")
    parser.add_argument("--plan", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--floor-body", required=True)
    parser.add_argument("--users", default="8,32")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--learners", type=int, default=10_000)
    parser.add_argument("--series", type=int, default=20)
    parser.add_argument("--keep-alive", action="store_true")
    parser.add_argument("--requests-per-connection", type=int, default=REQUESTS_PER_CONNECTION)
    parser.add_argument("--sign-in-concurrency", type=int, default=4)
    parser.add_argument(
        "--scenarios",
        default="catalogue,lesson,dashboard,mark_complete,quiz_submit,focal_report,certificate",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    options = parse()
    outcome = asyncio.run(main(options))
    Path(options.out).write_text(json.dumps(outcome, indent=1))
