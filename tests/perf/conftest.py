"""Benchmarks: run with `make bench`. They print figures; they are not part of `make test`.

Every benchmark adds rows to one table printed at the end (`bench_table`), and the targets it
checks to a second one (`bench_targets`), so a run ends with what was measured and what holds.
BENCH_DATABASE_URL (a PostgreSQL server URL) adds the PostgreSQL runs; BENCH_QUICK=1 a shorter
run on smaller data.
"""

from __future__ import annotations

import os

import pytest

BENCH_BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("BENCH_DATABASE_URL") else [])
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")


@pytest.fixture(scope="session")
def bench_targets():
    rows: list[tuple[str, str, str, bool]] = []
    yield rows
    if rows:
        width = max(len(name) for name, _, _, _ in rows)
        print("\n\ntarget".ljust(width + 2) + "  backend     measured" + " " * 30 + "holds")
        for name, backend, measured, holds in rows:
            print(f"{name.ljust(width)}  {backend.ljust(10)}  {measured.ljust(38)}  "
                  f"{'yes' if holds else 'NO'}")  # fmt: skip


@pytest.fixture(scope="session")
def bench_table(bench_targets):
    rows: list[tuple[str, str, str]] = []
    yield rows
    if rows:
        width = max(len(name) for name, _, _ in rows)
        print("\n\nbenchmark".ljust(width + 2) + "  backend     result")
        for name, backend, result in rows:
            print(f"{name.ljust(width)}  {backend.ljust(10)}  {result}")
