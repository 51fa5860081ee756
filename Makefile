# Two entry points: `make demo` (run every demo case) and `make test` (run the tests);
# `make docs-figures` redraws every figure of docs/figures.
# Both create .venv and install the package into it when needed.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-slow test-all venv clean docs-figures

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

# the default suite on up to 4 worker processes (pytest-xdist; a test file stays on one worker, so the
# session fixtures it shares are built once per worker)
XDIST  := -n auto --maxprocesses=4 --dist loadfile

test: $(STAMP)
	$(PY) -m pytest -q $(XDIST)

test-slow: $(STAMP)
	$(PY) -m pytest -q $(XDIST) -m slow

test-all: $(STAMP)
	$(PY) -m pytest -q $(XDIST) -m ''

clean:
	rm -rf results
