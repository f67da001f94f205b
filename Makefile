# recscale: the two set-up commands are `make quickstart` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: quickstart test install clean-runs notebooks

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,cluster]'
	touch $(STAMP)

install: $(STAMP)

quickstart: $(STAMP)
	$(BIN)/recscale sweep run sweeps/specs/quickstart.yaml
	$(BIN)/recscale fit runs/quickstart
	$(BIN)/recscale plot runs/quickstart

test: $(STAMP)
	$(BIN)/python -m pytest -q

notebooks: $(STAMP)
	$(BIN)/python -m pytest -q tests/test_notebooks.py

clean-runs:
	rm -rf runs
