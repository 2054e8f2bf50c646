# The two commands of the README:
#   make run    set up .venv, run the embedded default DAG offline, write report.html
#   make test   set up .venv, lint, run the tests (unit tests, dry runs, a tiny end-to-end run)
PYTHON ?= python3
CORES ?= 2
BIN := .venv/bin

.PHONY: setup run lint test report clean

setup: $(BIN)/.installed

$(BIN)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv .venv
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

run: setup
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/snakemake --report report.html

# ruff (pyproject.toml [tool.ruff]) and snakefmt over the whole tree; `ruff format .` and
# `snakefmt .` fix what they report
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check .

test: setup lint
	$(BIN)/python -m pytest -q -p no:cacheprovider

report: setup
	$(BIN)/snakemake --report report.html

clean:
	rm -rf results logs benchmarks report.html .snakemake
