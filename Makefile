# immex-nb — two commands on a fresh machine:  make demo   and   make test
# Each sets up what it needs first (.venv, the package, the Jupyter kernel).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test bench lint format clean-reports data

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (immex-nb)" >/dev/null
	@touch $(STAMP)
	@echo "immex-nb installed in $(VENV) (kernel 'python3' registered)"

## the main job on the bundled demo clients: monthly reports into reports/
demo: install
	$(BIN)/immex-nb demo --data data/demo --out reports

## the test suite (notebooks and the report batch included)
test: install
	$(BIN)/ruff check immex_nb tests bench
	$(BIN)/pytest -n 2 -q

## speed of load, discharge and exposure on big synthetic clients (figures, not pass/fail)
bench: install
	$(BIN)/python bench/bench_load.py
	$(BIN)/python bench/bench_discharge.py
	$(BIN)/python bench/bench_exposure.py
	$(BIN)/python bench/bench_annex.py
	$(BIN)/python bench/bench_report.py
	$(BIN)/python bench/bench_datastage.py

## rewrite the demo clients from the generator
data: install
	$(BIN)/python -m immex_nb.samples.demo --root data/demo

lint: install
	$(BIN)/ruff check immex_nb tests bench
	$(BIN)/ruff format --check immex_nb tests bench

format: install
	$(BIN)/ruff check --fix immex_nb tests bench
	$(BIN)/ruff format immex_nb tests bench

clean-reports:
	find reports -mindepth 1 ! -name README.md -exec rm -rf {} +
