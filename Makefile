# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export FLASK_APP := wsgi.py

.PHONY: run test bench lint check-courses clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## run: install, migrate, import courses/, create the demo accounts, serve on :5000
run: $(STAMP)
	@mkdir -p instance
	$(BIN)/flask db upgrade
	$(BIN)/flask courses import
	$(BIN)/flask countries seed
	$(BIN)/flask demo
	@echo "Serving on http://127.0.0.1:5000 (Ctrl+C to stop)"
	$(BIN)/flask run --host 127.0.0.1 --port 5000

INTEROP := tests/interop/node_modules/.package-lock.json

# The independent credential verifier (Node). Without npm its tests skip, except under CI.
$(INTEROP): tests/interop/package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix tests/interop --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the independent credential verifier tests will be skipped"; fi

## test: the whole suite (SQLite; PostgreSQL too when TEST_DATABASE_URL is set)
test: $(STAMP) $(INTEROP)
	$(BIN)/python -m pytest

## bench: the benchmarks under tests/perf/, one table at the end (docs/performance.md)
## BENCH_DATABASE_URL=postgresql+psycopg://user@host/postgres adds PostgreSQL; BENCH_QUICK=1 is shorter
bench: $(STAMP)
	$(BIN)/python -m pytest tests/perf -p no:cacheprovider -s -q --override-ini addopts=

## lint: ruff
lint: $(STAMP)
	$(BIN)/ruff check .

check-courses: $(STAMP)
	$(BIN)/flask courses check

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
