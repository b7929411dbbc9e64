"""Gunicorn for the benchmarks, started exactly as in production: `gunicorn -c gunicorn.conf.py`.

`Server` starts it on a free loopback port with the environment given, waits until it answers,
samples the resident memory of its workers while it runs, and stops it (SIGTERM to the master
it started, never anything else).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil

from config import BASE_DIR

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    def __init__(self, app: str, env: dict[str, str], log: Path, *, ready_path: str) -> None:
        self.app = app
        self.port = free_port()
        self.env = {**os.environ, **env, "GUNICORN_BIND": f"127.0.0.1:{self.port}"}
        self.log = log
        self.ready_path = ready_path
        self.process: subprocess.Popen | None = None
        self.peak_worker_rss = 0
        self.peak_worker_uss = 0
        self._sampling = threading.Event()
        self._sampler: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [GUNICORN, "-c", str(BASE_DIR / "gunicorn.conf.py"), self.app],
                cwd=BASE_DIR,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: see {self.log}")
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"gunicorn did not answer in time: see {self.log}")
        self._sampling.set()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def workers(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.process.pid).children()
        except psutil.Error:
            return []

    def _sample(self) -> None:
        """The largest resident set of a worker: RSS twice a second (cheap), and USS (its own
        pages, not those shared with the master; costly to read) every five seconds."""
        rounds = 0
        while self._sampling.is_set():
            for worker in self.workers():
                try:
                    self.peak_worker_rss = max(self.peak_worker_rss, worker.memory_info().rss)
                    if rounds % 10 == 0:
                        uss = worker.memory_full_info().uss
                        self.peak_worker_uss = max(self.peak_worker_uss, uss)
                except psutil.Error:
                    continue
            rounds += 1
            time.sleep(0.5)

    def stop(self) -> None:
        self._sampling.clear()
        if self._sampler is not None:
            self._sampler.join()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
