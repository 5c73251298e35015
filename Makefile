# One source of truth for setting up and running amgap (README and .ci/run call these targets).
PYTHON ?= python3
DEPS_KEY := $(shell cat pyproject.toml constraints.txt | sha256sum | cut -c1-12)
VENV ?= $(HOME)/.cache/amgap/venv-$(DEPS_KEY)
PY := $(VENV)/bin/python
AMGAP := $(VENV)/bin/amgap
DEMO_OUT ?= demo-out

.PHONY: install test lint demo clean

# Dependencies go into a venv cached outside the clone, keyed on the dependency files;
# the package itself is re-installed (editable, no deps) on every call so that the
# venv always points at this checkout.
$(VENV)/.deps-installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	touch $@

install: $(VENV)/.deps-installed
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .

test: install
	$(PY) -m ruff check src tests benchmarks scripts
	$(PY) -m pytest -q tests

lint: install
	$(PY) -m ruff check src tests benchmarks scripts

demo: install
	mkdir -p $(DEMO_OUT)
	$(AMGAP) zoo
	$(AMGAP) encode carphone --frames 16 -o $(DEMO_OUT)/carphone.amg
	$(AMGAP) info $(DEMO_OUT)/carphone.amg
	$(AMGAP) decode $(DEMO_OUT)/carphone.amg -o $(DEMO_OUT)/carphone.y4m --reference carphone
	$(AMGAP) analyze carphone --frames 16 --quality 1 4 --out $(DEMO_OUT)/analysis

clean:
	rm -rf $(DEMO_OUT) .pytest_cache
