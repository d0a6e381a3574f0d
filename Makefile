# loadmon: two-command quick start.
#   make demo   set up .venv, generate a sample history, import it into demo/loadmon.sqlite, show it
#   make test   set up .venv with the dev extras, run the tests
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test venv bench clean lint

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

LOADMON_DEMO := $(VENV)/bin/loadmon --config demo/config.toml

demo: $(STAMP)
	$(PY) -m loadmon.demo --out demo
	$(LOADMON_DEMO) activities
	$(LOADMON_DEMO) status
	$(LOADMON_DEMO) alerts
	$(LOADMON_DEMO) report --out demo/report.html
	$(LOADMON_DEMO) daemon --once --log-console
	$(LOADMON_DEMO) daemon status
	printf 'demo-password\n' | $(LOADMON_DEMO) user add demo --athlete demo-runner --password-stdin
	@echo "web app: $(LOADMON_DEMO) web   then open http://127.0.0.1:8080/ and log in as demo / demo-password"

bench: $(STAMP)
	$(PY) bench/import_fit.py
	$(PY) bench/engine_bench.py
	$(PY) bench/cli_startup.py

clean:
	rm -rf demo .pytest_cache build *.egg-info
