# arb-plugin front door: `make demo` and `make test` do every set-up step themselves.
SHELL := /bin/bash
VENV  ?= .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint install services clean

$(STAMP): pyproject.toml constraints.txt setup.py adapters/upbit/units_parser.pyx
	@set -e; \
	if [ ! -x "$(PY)" ]; then \
	  base=$$(scripts/find-python.sh); \
	  echo "==> creating $(VENV) with $$base"; \
	  "$$base" -m venv "$(VENV)"; \
	fi; \
	echo "==> installing arb-plugin into $(VENV) (log: $(VENV)/install.log)"; \
	if ! { "$(PY)" -m pip install --upgrade pip && "$(PY)" -m pip install -c constraints.txt -e '.[test]'; } > "$(VENV)/install.log" 2>&1; then \
	  tail -n 40 "$(VENV)/install.log"; echo "error: installing arb-plugin failed (see $(VENV)/install.log)" >&2; exit 1; \
	fi; \
	touch "$(STAMP)"

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/arb backtest

services:
	@scripts/ensure-services.sh

test: $(STAMP) services
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP) services
	$(PY) -m bench $(BENCH_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check arb_plugin adapters tests bench
	$(VENV)/bin/mypy arb_plugin adapters

clean:
	rm -rf $(VENV) reports .pytest_cache .mypy_cache .ruff_cache
