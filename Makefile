# Build, test and run the model. GNU make; needs only python3 (with venv) on the machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: all install browser run test bench lint clean viz

all: test

install: $(STAMP)

# The project's virtual environment, remade whenever pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[test,viz,calibration,ema]'
	$(BIN)/python -m model.kernels
	touch $@

# The main job: the case comparison (experiments/configs/cases.toml) plus the Morris screening
# (structures_morris.toml) on 2 workers; results/report.md links both reports and their figures.
# A repeated or interrupted run continues from what results/ already holds.
run: $(STAMP)
	$(BIN)/phc-synergy main --out results --workers 2

# The workshop page (viz/app.py) on http://127.0.0.1:8765, offline (no CDN, no telemetry); Ctrl-C stops it.
# For a room (prints the addresses with a token): make viz VIZ_ARGS="--host 0.0.0.0 --port 8800 --scenarios DIR"
viz: $(STAMP)
	$(BIN)/phc-synergy viz $(VIZ_ARGS)

# Debian's chromium for the browser tests (never `playwright install`: it cannot download here).
# Installed with apt-get when make runs as root (CI); otherwise the browser tests are skipped
# with a message saying how to install it.
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else echo "chromium is not installed (sudo apt-get install chromium): the browser tests will be skipped"; fi

test: $(STAMP) browser
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
