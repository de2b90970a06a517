# The front door: `make demo` and `make test`. Everything a fresh Debian 12 machine
# needs is installed by these targets (venv, database servers, helm, podman).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SERVICES := auth agentic analytics cortex apiOntology
PYTEST_ARGS ?=

.PHONY: help venv demo test test-fast servers helm image lint bench clean uv lock checkov cosmic-ray mutate

help:
	@echo "make demo   - apply the five example services to SQLite files under ./var/, show their status, then one failure and its recovery"
	@echo "make test   - install what the tests need (venv, PostgreSQL, MariaDB, helm, podman image) and run them"
	@echo "make image  - build the migrator container image (docker if a daemon runs, else podman)"
	@echo "make lock   - regenerate the image's hash-pinned lock files from pyproject.toml"
	@echo "make lint   - lint the project's migrations for lock-heavy operations"
	@echo "make bench  - run the benchmarks under bench/ (prints figures, writes bench/results/)"
	@echo "make mutate - mutation testing of the core (MODULES=\"config split\" for some; writes tests/mutation/results/)"

$(BIN)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || (apt-get update -qq && apt-get install -y -qq python3 python3-venv)
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq python3-venv)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

venv: $(BIN)/.installed

# The demo needs only the package (no test extras); `make test` adds them to the same venv.
$(BIN)/.demo-installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || (apt-get update -qq && apt-get install -y -qq python3 python3-venv)
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq python3-venv)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e .
	touch $@

# One failure and its recovery, on a scratch service `shop` under var/demo (rebuilt each run):
# a no-transaction migration fails half-way and leaves the database dirty.
DEMO := var/demo
DEMO_FILES := $(DEMO)/migrations/shop/sqlite
DEMO_RUN := $(BIN)/migrator --log-format console --log-level critical --migrations $(DEMO)/migrations \
	--database sqlite://$(DEMO)/shop.db

demo: $(BIN)/.demo-installed
	@mkdir -p var
	@for s in $(SERVICES); do \
	  echo "== $$s"; \
	  $(BIN)/migrator --log-format console --log-level warning --migrations migrations --service $$s \
	    --database sqlite://var/$$s.db up || exit $$?; \
	done
	@for s in $(SERVICES); do \
	  echo; $(BIN)/migrator --log-level warning --migrations migrations --service $$s \
	    --database sqlite://var/$$s.db status || exit $$?; \
	done
	@rm -rf $(DEMO) && mkdir -p $(DEMO_FILES)
	@echo 'CREATE TABLE orders (id INTEGER PRIMARY KEY, total_cents INTEGER);' > $(DEMO_FILES)/0001_create_orders.up.sql
	@printf '%s\n' '-- migrator:no-transaction' \
	  'CREATE INDEX IF NOT EXISTS ix_orders_total ON orders (total_cents);' \
	  'UPDATE order_totals SET n = 0;' > $(DEMO_FILES)/0002_index_orders_total.up.sql
	@echo; echo "== failure and recovery: service shop in $(DEMO); 0002 is a no-transaction migration whose"
	@echo "   second statement names a table that does not exist"
	@echo '$$ migrator up'; $(DEMO_RUN) up 2>&1; echo "(exit $$?)"
	@echo '$$ migrator up   # again: refused until an operator has looked'; $(DEMO_RUN) up 2>&1; echo "(exit $$?)"
	@echo '$$ migrator status'; $(DEMO_RUN) status 2>&1
	@echo "# the operator removes the broken statement (the index statement is safe to re-run),"
	@echo "# marks version 1 as the last clean one, and applies 0002 again"
	@sed -i '/order_totals/d' $(DEMO_FILES)/0002_index_orders_total.up.sql
	@echo '$$ migrator force 1 --yes'; $(DEMO_RUN) force 1 --yes 2>&1
	@echo '$$ migrator up'; $(DEMO_RUN) up 2>&1
	@echo '$$ migrator status --check'; $(DEMO_RUN) status --check 2>&1

servers:
	bash tests/setup/ensure-servers.sh

helm:
	bash tests/setup/install-helm.sh

image:
	bash image/build.sh

# Tools of their own venvs under .cache/tools (pinned: a new uv may write the lock
# files differently, a new checkov brings new checks; bump them on purpose).
TOOLS := .cache/tools
UV_VERSION := 0.13.9
CHECKOV_VERSION := 3.3.30

$(TOOLS)/uv/.installed-$(UV_VERSION):
	rm -rf $(TOOLS)/uv
	$(PYTHON) -m venv $(TOOLS)/uv
	$(TOOLS)/uv/bin/pip install -q uv==$(UV_VERSION)
	touch $@

uv: $(TOOLS)/uv/.installed-$(UV_VERSION)

# After any change of pyproject.toml's dependencies (or build-system requires).
lock: uv
	UV=$(TOOLS)/uv/bin/uv bash image/lock.sh

# checkov has many pinned dependencies of its own: kept out of the test venv.
$(TOOLS)/checkov/.installed-$(CHECKOV_VERSION):
	rm -rf $(TOOLS)/checkov
	$(PYTHON) -m venv $(TOOLS)/checkov
	$(TOOLS)/checkov/bin/pip install -q checkov==$(CHECKOV_VERSION)
	touch $@

checkov: $(TOOLS)/checkov/.installed-$(CHECKOV_VERSION)

# cosmic-ray (mutation testing) brings SQLAlchemy and others of its own: kept out of the test venv.
COSMIC_RAY_VERSION := 8.7.0

$(TOOLS)/cosmic-ray/.installed-$(COSMIC_RAY_VERSION):
	rm -rf $(TOOLS)/cosmic-ray
	$(PYTHON) -m venv $(TOOLS)/cosmic-ray
	$(TOOLS)/cosmic-ray/bin/pip install -q cosmic-ray==$(COSMIC_RAY_VERSION)
	touch $@

cosmic-ray: $(TOOLS)/cosmic-ray/.installed-$(COSMIC_RAY_VERSION)

# Not part of `make test` (minutes per module): see tests/mutation/README.md.
MODULES ?=
MUTATE_ARGS ?=
mutate: venv servers cosmic-ray
	$(TOOLS)/cosmic-ray/bin/python tests/mutation/mutate.py --python $(BIN)/python $(MUTATE_ARGS) $(MODULES)

test: venv servers helm image uv checkov
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Without the image and helm (quick engine loop while developing).
test-fast: venv servers
	$(BIN)/python -m pytest tests --ignore=tests/image --ignore=tests/e2e --ignore=tests/chart --ignore=tests/reliability $(PYTEST_ARGS)

lint: venv
	$(BIN)/migrator lint --migrations migrations

bench: venv servers
	bash bench/run.sh

clean:
	rm -rf var .pytest_cache
