"""Benchmarks: run with `make bench`. They print figures; they are not part of `make test`."""

from __future__ import annotations

import os

import pytest

BENCH_BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("BENCH_DATABASE_URL") else [])


@pytest.fixture(scope="session")
def bench_table():
    rows: list[tuple[str, str, str]] = []
    yield rows
    if rows:
        width = max(len(name) for name, _, _ in rows)
        print("\n\nbenchmark".ljust(width + 2) + "  backend     result")
        for name, backend, result in rows:
            print(f"{name.ljust(width)}  {backend.ljust(10)}  {result}")
