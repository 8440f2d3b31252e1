VENV ?= .venv
PYTHON := $(VENV)/bin/python

.PHONY: setup test test-pulumi lint-pulumi

# The pulumi extra brings the Pulumi SDK and providers the programs and their mock tests import.
$(VENV)/.installed: pyproject.toml
	python3.11 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet -e ".[dev,ansible,pulumi]"
	touch $@

setup: $(VENV)/.installed

test: setup
	$(PYTHON) -m pytest

test-pulumi: setup
	$(PYTHON) -m pytest tests/unit/pulumi

lint-pulumi: setup
	$(VENV)/bin/ruff check pulumi plugins tests/unit/pulumi
	$(VENV)/bin/ruff format --check pulumi plugins tests/unit/pulumi
