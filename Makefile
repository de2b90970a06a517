# The front door: `make demo` and `make test`. Everything a fresh Debian 12 machine
# needs is installed by these targets (venv, database servers, helm, podman).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SERVICES := auth agentic analytics cortex apiOntology
PYTEST_ARGS ?=

.PHONY: help venv demo test test-fast servers helm image lint bench clean

help:
	@echo "make demo   - apply the five example services to SQLite files under ./var/ and show their status"
	@echo "make test   - install what the tests need (venv, PostgreSQL, MariaDB, helm, podman image) and run them"
	@echo "make image  - build the migrator container image (docker if a daemon runs, else podman)"
	@echo "make lint   - lint the project's migrations for lock-heavy operations"
	@echo "make bench  - run the benchmarks under bench/ (prints figures, writes bench/results/)"

$(BIN)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || (apt-get update -qq && apt-get install -y -qq python3 python3-venv)
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq python3-venv)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

venv: $(BIN)/.installed

demo: venv
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

servers:
	bash tests/setup/ensure-servers.sh

helm:
	bash tests/setup/install-helm.sh

image:
	bash image/build.sh

test: venv servers helm image
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
