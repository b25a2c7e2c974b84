# The whole set-up is here: `make demo` and `make test` work on a fresh Debian machine.
VENV := .venv
PYTHON := $(VENV)/bin/python
ROBOT := $(VENV)/bin/chorus-robot
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench browser clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q -e '.[test]'
	touch $(STAMP)

browser: $(STAMP)
	$(PYTHON) -m robots.browser --ensure

demo: browser
	$(ROBOT) demo

test: browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: browser
	$(PYTHON) bench/renew_throughput.py

clean:
	rm -rf $(VENV) recordings/*/ var/ .pytest_cache
