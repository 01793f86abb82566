# The verbs people and CI use alike. `make install` once, then any of the others.
# The newest python3.X on PATH that is 3.11 or newer (scripts/find_python.sh); `make install PY=python3.12` picks one.
PY ?= $(shell scripts/find_python.sh)
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install lint format typecheck test check test-fast smoke run bench schema screenshots clean

install:            ## create the virtualenv and install dlrhub with its dev tools
	@test -x $(BIN)/python || test -n "$(PY)" || { echo "no Python 3.11 or newer on PATH: make install PY=/path/to/python3" >&2; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'

lint:               ## ruff lint and format check, and the import-linter contracts (layers)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/lint-imports

format:             ## apply ruff's formatting and fixes
	$(BIN)/ruff format src tests bench scripts
	$(BIN)/ruff check --fix src tests bench scripts

typecheck:          ## mypy --strict on the package, tests and benchmarks
	$(BIN)/mypy

test:               ## the whole suite (PostgreSQL at 127.0.0.1:5432 required in CI)
	$(BIN)/pytest -q

check: lint typecheck test   ## what CI runs: lint, types, then the whole suite

test-fast:          ## unit tests only
	$(BIN)/pytest -q tests/unit

smoke:              ## build the wheel and sdist, install the wheel in a clean virtualenv, run --version, migrate, serve
	scripts/smoke_wheel.sh $(BIN)/python

run:                ## dlrhub on SQLite with the Zalo simulator and a demo account
	$(BIN)/dlrhub serve

bench:              ## every benchmark in bench/, each printing a ratio against its in-run baseline
	for b in bench/*.py; do case $$b in */_*) continue;; esac; $(BIN)/python $$b || exit 1; done

screenshots:        ## the dashboard screenshots in docs/screenshots, taken by the browser tests (needs chromium)
	DLRHUB_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/browser

schema:             ## regenerate the schema snapshot after changing a migration
	$(BIN)/python scripts/schema.py > src/dlrhub/store/schema.txt

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
