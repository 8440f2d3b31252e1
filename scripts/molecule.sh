#!/usr/bin/env bash
# molecule on the collection's scenarios (molecule/), from the repository's root.
#
# This tree is linked as the collection meshfabric.mesh (scripts/lib/collection-tree.sh). The
# scenarios share one ephemeral
# directory (the lab's state, its inventory, the wheelhouse and each host's files):
# MOLECULE_EPHEMERAL_DIRECTORY, by default /tmp/meshfabric-molecule, so that `create`,
# `converge -s NAME` and `destroy` run one after another see the same lab.
# Environment: MESHFABRIC_VENV (default: <repo>/.venv); MESHFABRIC_WHEELHOUSE, a wheelhouse
# already built from this tree (default: built once by the default scenario's create).
# Usage: scripts/molecule.sh test --all | create | converge -s envoy | verify -s envoy | destroy
set -euo pipefail

source "$(dirname "$0")/lib/collection-tree.sh"
link_collection

cd "$repo"
export MOLECULE_EPHEMERAL_DIRECTORY=${MOLECULE_EPHEMERAL_DIRECTORY:-/tmp/meshfabric-molecule}
export MOLECULE_GLOB="molecule/*/molecule.yml"
molecule --base-config .config/molecule/config.yml "$@"
