# The README's two commands: `make run` serves the app, `make test` runs the whole suite.
# Both set up what they need on a fresh machine (a local .venv; for tests also Debian's Chromium, vnu and
# PostgreSQL, whose throwaway server tests/pg_server.sh starts and stops around pytest).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
VNU := .cache/vnu/vnu.jar

.PHONY: run test bench check-content

# glibc's malloc as deploy/p2p.service sets it (the reasons are there).
MALLOC_SETTINGS := MALLOC_ARENA_MAX=2 GLIBC_TUNABLES=glibc.malloc.tcache_count=0

run: $(VENV)/.installed
	$(MALLOC_SETTINGS) $(BIN)/p2p serve

# The suite runs on SQLite and, against a throwaway server started for it (stopped afterwards whatever the
# result; pytest's exit status is kept), on PostgreSQL. P2P_TEST_DATABASE_URL set already: that server instead.
# tests/run.sh runs them all in three xdist workers, each browser module whole in one worker.
test: $(VENV)/.installed-test $(VNU) browser postgres
	bash tests/pg_server.sh run bash tests/run.sh $(BIN)/python $(PYTEST_ARGS)

# Benchmarks print one table of figures (see docs/benchmarks.md); nothing here fails on a slow machine.
# P2P_BENCH_JSON=file also writes the figures as JSON; BENCH_ARGS="--seconds 30" lengthens each load phase.
bench: $(VENV)/.installed-bench
	$(BIN)/python -m bench $(BENCH_ARGS)

check-content: $(VENV)/.installed
	$(BIN)/p2p check-content

# The README's update command: fetch, install new dependencies, stop the service, move the code forward, bring the
# shipped changes into the host's copies in instance/content/, upgrade the database (with a backup), start the
# service; anything that would stop it stops it before a change (deploy/update.sh says what it does and why in
# that order). SERVICE=name for a unit not called p2p.
SERVICE ?= p2p
.PHONY: update
update:
	@SERVICE="$(SERVICE)" bash deploy/update.sh

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@ $(VENV)/.installed

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[bench]'
	touch $@ $(VENV)/.installed

# Debian's Chromium as its headless shell (what Playwright itself runs headless: the full browser cost the browser
# tests a third more CPU): Playwright's own browser download is not possible here (no internet but package registries).
# Caddy too: the VPS set-up (docs/hosting.md) is tested with the real proxy in front of the real server.
.PHONY: browser
browser:
	@command -v chromium-headless-shell >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium-headless-shell >/dev/null; }
	@command -v java >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq default-jre-headless >/dev/null; }
	@command -v caddy >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq caddy >/dev/null; }

# PostgreSQL's server programs (and pg_dump), for the tests' own server; nothing is started as a service here.
.PHONY: postgres
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq postgresql >/dev/null; }

# The Nu HTML checker, from the npm registry, for the HTML validity tests.
$(VNU):
	mkdir -p .cache/vnu
	cd .cache/vnu && npm pack --silent vnu-jar >/dev/null && tar xzf vnu-jar-*.tgz && cp package/build/dist/vnu.jar vnu.jar \
		&& rm -rf package vnu-jar-*.tgz
