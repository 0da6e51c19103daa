# Every target bootstraps .venv from pyproject.toml first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench soak tools schemas clean
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/kompensasi demo

# Debian's chromium (browser tests), promtool (alert-rule tests) and poppler-utils (pdftoppm and
# pdftotext, report tests), installed when missing.
tools:
	@command -v chromium >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }
	@command -v promtool >/dev/null || { apt-get update -q && $(APT_INSTALL) prometheus; }
	@command -v pdftoppm >/dev/null || { apt-get update -q && $(APT_INSTALL) poppler-utils; }

test: $(STAMP) tools
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m tests.benchmarks.run

# Each live-equals-replay scenario ten times in a row (about 45 minutes; FRESH=1: new seeds each run).
soak: $(STAMP)
	RUNS=$(or $(RUNS),10) FRESH=$(FRESH) $(BIN)/python -m tests.benchmarks.soak

schemas: $(STAMP)
	$(BIN)/kompensasi schemas

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
