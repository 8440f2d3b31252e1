# Targets of the Ansible collection (meshfabric.mesh, at the repository root).
VENV ?= .venv

.PHONY: test-collection

# ansible-test sanity and units on a copy at ansible_collections/meshfabric/mesh;
# the collection's integration tests run with the project's pytest suite
# (tests/integration/ansible).
test-collection:
	MESHFABRIC_VENV=$(abspath $(VENV)) scripts/ansible-test.sh sanity units
