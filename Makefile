# Two commands from a fresh clone: `make run` and `make test`. Each bootstraps .venv first.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8501
E2E_PACKAGES := chromium fonts-noto-color-emoji

.PHONY: install run test test-fast lint bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Ctrl+C stops the UI, and then the scheduler and sample traffic it started (deployments keep
# serving until `mlops-studio stop --deployments`)
run: install
	trap '$(VENV)/bin/mlops-studio stop' EXIT; trap 'exit 130' INT TERM; \
	$(VENV)/bin/mlops-studio ui --demo --port $(PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# tests/e2e drive Debian's chromium with Playwright (a dev extra); the emoji font is for screenshots
test: lint
	command -v /usr/bin/chromium >/dev/null || apt-get install -y $(E2E_PACKAGES) || (apt-get update && apt-get install -y $(E2E_PACKAGES))
	$(VENV)/bin/pytest

# the inner loop: lint and every test but the browser and slow ones (CI still runs `make test`)
test-fast: lint
	$(VENV)/bin/pytest -m "not e2e and not slow"

bench: install
	command -v wrk >/dev/null || apt-get install -y wrk || (apt-get update && apt-get install -y wrk)
	$(PY) tests/bench/run_all.py

clean:
	rm -rf $(VENV) .studio
