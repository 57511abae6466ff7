# Two commands on a fresh machine: `make demo` (the main job) and `make test` (the suite).
# Both create or reuse the virtual environment .venv inside the checkout.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
UV     := $(VENV)/bin/uv
STAMP  := $(VENV)/.installed

.PHONY: venv demo test lint clean

venv: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip uv
	# pip, not uv: pip finds the CPU build of torch 2.13.0 that this machine keeps on disk.
	$(PY) -m pip install --quiet "torch==2.13.0"
	# --compile-bytecode: where PYTHONDONTWRITEBYTECODE is set, every process (each test's
	# subprocesses too) would otherwise compile ray, torch & co. from source (the fast tests:
	# 31 s of CPU instead of 15)
	$(UV) pip install --quiet --compile-bytecode --python $(PY) -e ".[test]"
	touch $(STAMP)

demo: venv
	$(PY) examples/main_job.py

# The checks first (seconds), then the whole suite.
test: lint
	$(PY) -m pytest

lint: venv
	$(VENV)/bin/ruff check hub runtime_env tests benchmarks examples operators
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .pytest_cache
