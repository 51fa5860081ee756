# Two entry points: `make demo` (run every demo case) and `make test` (run the tests);
# `make docs-figures` redraws every figure of docs/figures.
# Both create .venv and install the package into it when needed.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-all venv clean docs-figures

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) -m sim demo --cases cases --out results

docs-figures: $(STAMP)
	$(PY) -m sim.verification all docs/figures

test: $(STAMP)
	$(PY) -m pytest -q

test-all: $(STAMP)
	$(PY) -m pytest -q -m ''

clean:
	rm -rf results
