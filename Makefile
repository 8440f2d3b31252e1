# make demo   set everything up, then run the Kong Air demo
# make test   set everything up, then run every check and test
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Arize Phoenix, the OTLP trace store of the tracing tests (about 500 MB): a virtualenv of
# its own, as its pins would fight the project's; made only when missing.
PHOENIX_VENV ?= .venv-phoenix
PHOENIX := $(PHOENIX_VENV)/bin/phoenix

.PHONY: setup system-packages demo test lint typecheck pytest test-collection clean proto

setup: system-packages $(STAMP) $(PHOENIX)

system-packages:
	@scripts/install-system-packages.sh

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,ansible,pulumi]'
	touch $@

$(PHOENIX):
	$(PYTHON) -m venv $(PHOENIX_VENV)
	$(PHOENIX_VENV)/bin/pip install -q 'arize-phoenix>=20.26,<21'

demo: setup
	@PATH="$(CURDIR)/$(BIN):$$PATH" scripts/demo.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests bench pulumi plugins
	$(BIN)/ruff format --check src tests bench pulumi plugins
	$(BIN)/lint-imports
	MESHFABRIC_VENV=$(abspath $(VENV)) scripts/ansible-lint.sh

# src/ and bench/ strictly (pyproject); the Pulumi programs strictly, each directory on the
# path as Pulumi runs it (their thin __main__.py files are left out: mypy would see two
# modules named __main__). The collection's plugins more loosely: Ansible ships no types and
# they import one another as ansible_collections.meshfabric.mesh.*, which only exists in the
# copy scripts/ansible-test.sh makes, so what comes from there is Any. The toy policy package
# the tests load into a control plane strictly too: it must keep up with the policy API.
typecheck: $(STAMP)
	$(BIN)/mypy
	MYPYPATH=pulumi:pulumi/aws:pulumi/kubernetes $(BIN)/mypy \
		pulumi/meshfabric_zones pulumi/aws/meshfabric_aws pulumi/kubernetes/meshfabric_k8s
	$(BIN)/mypy --explicit-package-bases --allow-subclassing-any --no-warn-return-any plugins
	$(BIN)/mypy --explicit-package-bases tests/support/toy_policy

# The Python modules generated from each .proto file, written beside it.
PROTOS := $(shell find src -name '*.proto')
proto: $(STAMP)
	cd src && $(abspath $(BIN))/python -m grpc_tools.protoc -I . --python_out=. --pyi_out=. \
		$(patsubst src/%,%,$(PROTOS))

# Most tests wait on real processes (control planes, Envoys, Ansible over SSH) more than they
# compute, so three workers finish sooner than one, also on two cores. Each module runs in one
# worker, so its module-scoped control planes and labs are made once; modules start in
# collection order, the longest first (tests/conftest.py), rather than xdist's default of
# the modules with the most tests first, which left the longest one-test modules for last.
PYTEST_WORKERS ?= 3
pytest: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest -q -p no:cacheprovider \
		--numprocesses $(PYTEST_WORKERS) --dist loadscope --no-loadscope-reorder

# ansible-test sanity and units for the meshfabric.mesh collection, run on a
# copy at ansible_collections/meshfabric/mesh; its integration tests are part
# of the pytest suite (tests/integration/ansible).
test-collection: setup
	MESHFABRIC_VENV=$(abspath $(VENV)) scripts/ansible-test.sh sanity units

test: lint typecheck pytest test-collection

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache tests/output
