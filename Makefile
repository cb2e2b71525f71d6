# Two commands: `make run` and `make test`. Both build .venv from scratch if needed.
# `make run` installs the server only (.[server]); `make test` adds the test extra.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
SERVER := $(VENV)/.installed-server
TESTS  := $(VENV)/.installed-test
BENCH  := $(VENV)/.installed-bench
# pytest-xdist: one worker more than the CPUs (many tests wait on subprocesses and sockets:
# on 2 CPUs, 3 workers took 8.6 min where 2 took 9.3-9.8), each test module whole on one
# worker (its module-scoped fixtures built once). Not loadgroup: with pytest 9.2, xdist 3.8
# cannot tag the test ids with their xdist_group, so loadgroup splits groups and modules
# like plain load.
PYTEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
# `make run DEMO_PORT=8471` if 8470 is taken.
DEMO_PORT ?= 8470

.PHONY: run test lint typecheck pytest bench clean browser screenshots

$(BIN)/python:
	$(shell command -v $(PYTHON) || echo python3) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(SERVER): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[server]'
	touch $(SERVER)

$(TESTS): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip install -q -e examples/marac-folder-drop
	touch $(SERVER) $(TESTS)

$(BENCH): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $(SERVER) $(BENCH)

run: $(SERVER)
	$(BIN)/marac-hub demo --port $(DEMO_PORT)

lint: $(TESTS)
	$(BIN)/ruff check hub agency_client tests bench
	$(BIN)/ruff format --check hub agency_client tests bench
	$(BIN)/lint-imports

typecheck: $(TESTS)
	$(BIN)/mypy hub agency_client

pytest: $(TESTS) browser
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile

# The web UI's browser tests: Debian's Chromium, axe-core and oidc-provider (the single
# sign-on tests' OpenID provider), both npm, into tests/web/node_modules.
browser:
	@test -x /usr/bin/chromium || { if [ "$$(id -u)" = 0 ]; then apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }; \
	  else echo "Chromium is missing: as root, run apt-get install -y chromium (the browser tests skip without it)"; fi; }
	@test -f tests/web/node_modules/axe-core/axe.min.js -a -f tests/web/node_modules/oidc-provider/package.json || \
	  { command -v npm >/dev/null && npm ci --prefix tests/web --no-audit --no-fund || \
	  echo "npm is missing: the browser tests skip without axe-core and oidc-provider"; }

# mypy runs beside the tests (they wait on sockets and subprocesses much of the time).
test: lint
	$(MAKE) --no-print-directory --output-sync=line -j 2 typecheck pytest

# The README's screenshots (docs/screenshots), made by the browser tests on demand only.
screenshots: $(TESTS) browser
	MARAC_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q tests/web/test_web_browser.py \
	  tests/agency_client/test_workspace_browser.py

bench: $(BENCH)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build *.egg-info
