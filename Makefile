# recscale: the two set-up commands are `make quickstart` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: quickstart test test-random install clean-runs notebooks

# uv resolves and installs in a fraction of pip's time; bytecode is compiled at install, as pip
# does, so no process compiles the libraries' sources again. pip is the fallback.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv && $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[dev,cluster]' \
		|| $(BIN)/pip install --quiet -e '.[dev,cluster]'
	touch $(STAMP)

install: $(STAMP)

quickstart: $(STAMP)
	$(BIN)/recscale sweep run sweeps/specs/quickstart.yaml
	$(BIN)/recscale fit runs/quickstart
	$(BIN)/recscale plot runs/quickstart

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n 2 --dist loadscope --no-loadscope-reorder --durations=20

# The same suite in a random order; pytest-randomly prints its seed: rerun with -p randomly --randomly-seed=N.
test-random: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadscope -p randomly

notebooks: $(STAMP)
	$(BIN)/python -m pytest -q tests/test_notebooks.py

clean-runs:
	rm -rf runs
