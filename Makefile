# Customer-satisfaction survey analysis. `make` alone lists the targets.
# The first target that needs it builds .venv from requirements.lock (Python 3.11+).

SHELL := /bin/bash
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STUDY  ?= config/demo.yml
# `make report` variables: see `make help` and README ("Scheduled runs")
OUT    ?=
DATE   ?=
FORCE  ?=
KEEP   ?=
WAIT   ?=
TIMEOUT ?=
RUN_TIMEOUT ?=
PER    ?=
ARGS   ?=
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help env data report test test-fast test-nbval test-slow lint format strip lab bench clean

help: ## show this help
	@echo "Customer-satisfaction survey analysis - make targets:"
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'
	@echo "make report variables: STUDY=$(STUDY) OUT=reports DATE=YYYY-MM-DD FORCE=1 (replace"
	@echo "  that study's report of that date) KEEP=N WAIT=SECONDS TIMEOUT=SECONDS (per notebook)"
	@echo "  RUN_TIMEOUT=SECONDS PER=SEGMENT (one report per unit, e.g. PER=region)"
	@echo "  LANGS='$(LANGS)' (the demo's report languages; LANGS=en: English only)"
	@echo "  ARGS='-p NAME=VALUE --only 20-describe --per region'"

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
	  { echo "Python 3.11 or newer is needed (found: $$($(PYTHON) --version)); set PYTHON=..."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name survey-analysis \
	  --display-name "Python (survey analysis)" >/dev/null
	@touch $@
	@echo "environment ready in $(VENV) (Jupyter kernel: survey-analysis)"

env: $(STAMP) ## build the virtual environment from the lock file and register the kernel

data: $(STAMP) ## write the demo study's raw files (seeded; skipped if all present)
	$(BIN)/python -m analysis_helpers demo-data --out data/raw/demo --if-missing

REPORT_ARGS = --study $(STUDY) $(if $(OUT),--out $(OUT)) $(if $(DATE),--date $(DATE)) \
  $(if $(filter 1 yes true,$(FORCE)),--force) $(if $(KEEP),--keep $(KEEP)) \
  $(if $(WAIT),--wait $(WAIT)) $(if $(TIMEOUT),--timeout $(TIMEOUT)) \
  $(if $(RUN_TIMEOUT),--run-timeout $(RUN_TIMEOUT)) $(if $(PER),--per $(PER)) $(ARGS)

# ANALYSIS_HELPERS_VIA_MAKE: the runner's messages then name these variables, not options
# the demo is reported in both languages: config/demo.yml and config/demo-zh.yml (its Chinese
# twin, which extends it); LANGS=en makes only the English one. Both reports are one run
# (--also): their notebooks share the run's workers and pre-warmed kernels
LANGS  ?= en zh
REPORT_STUDIES = $(STUDY) $(if $(and $(filter config/demo.yml,$(STUDY)),$(filter zh,$(LANGS))),config/demo-zh.yml)
report: $(STAMP) $(if $(filter config/demo.yml,$(STUDY)),data) ## produce reports/<study>/YYYY-MM-DD/ for STUDY (default: the demo, in English and Chinese)
	ANALYSIS_HELPERS_VIA_MAKE=1 $(BIN)/python -m analysis_helpers report $(REPORT_ARGS) \
	  $(addprefix --also ,$(wordlist 2,99,$(REPORT_STUDIES)))

# one study's report (the study file's path after report-study/)
report-study/%:
	ANALYSIS_HELPERS_VIA_MAKE=1 $(BIN)/python -m analysis_helpers report $(strip $(subst --study $(STUDY),--study $*,$(REPORT_ARGS)))

test: lint test-fast ## lint, unit tests and a run of every notebook (what CI runs)

# every notebook runs once, in tests/test_notebooks.py: papermill through the report
# runner, with the tables, figures and golden truths asserted (nbval would run them a
# second time and only check that no cell fails; it is `make test-nbval`)
test-fast: $(STAMP) data
	$(BIN)/python -m pytest -m "not slow" -n 2 $(PYTEST_ARGS)

test-nbval: $(STAMP) data ## run the notebooks in place with their defaults (nbval, lax)
	$(BIN)/python -m pytest --nbval-lax notebooks/ $(PYTEST_ARGS)

test-slow: $(STAMP) data ## the slow checks (large data), not part of `make test`
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

lint: $(STAMP) ## ruff lint and format check (notebooks included), mypy on src; notebooks must be stripped
	$(BIN)/ruff check src tests benchmarks notebooks
	$(BIN)/ruff format --check src tests benchmarks notebooks
	$(BIN)/mypy src
	$(BIN)/nbstripout --keep-id --verify notebooks/*.ipynb

format: $(STAMP) ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix src tests benchmarks notebooks
	$(BIN)/ruff format src tests benchmarks notebooks

strip: $(STAMP) ## strip outputs from the notebooks (do this before committing)
	$(BIN)/nbstripout --keep-id notebooks/*.ipynb

lab: $(STAMP) data ## open JupyterLab on the notebooks (project kernel)
	$(BIN)/jupyter lab notebooks/

bench: $(STAMP) ## run the benchmarks at 1,000,000 respondents and print their figures
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean: ## remove the environment, caches, processed data and generated reports (all studies)
	rm -rf $(VENV) .pytest_cache .ruff_cache src/*.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	rm -rf data/processed/*/ data/processed/.lock-* reports/*/ reports/index.html reports/.lock \
	  reports/.staging-* reports/.replaced-*
