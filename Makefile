# Build, test and run the model. GNU make; needs only python3 (with venv) on the machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: all install run test bench lint clean

all: test

install: $(STAMP)

# The project's virtual environment, remade whenever pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[test,viz]'
	touch $@

# The main job: the case comparison (experiments/configs/cases.toml) plus the Morris screening
# (structures_morris.toml) on 2 workers; results/report.md links both reports and their figures.
# A repeated or interrupted run continues from what results/ already holds.
run: $(STAMP)
	$(BIN)/phc-synergy main --out results --workers 2

test: $(STAMP)
	$(BIN)/python -m pytest -n 2

# Speed and memory benchmarks (run by hand; figures in benchmarks/results/).
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_all

lint:
	@if command -v ruff >/dev/null 2>&1; then ruff check .; \
	elif test -x $(BIN)/ruff; then $(BIN)/ruff check .; \
	else echo "ruff is not installed (pip install -e '.[dev]'); skipping lint"; fi

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
