#!/usr/bin/env bash
# molecule on the collection's scenarios (molecule/), from the repository's root.
#
# As in scripts/ansible-lint.sh, the roles include one another by their collection names, so
# a temporary ansible_collections/ tree links to this tree as meshfabric.mesh, and
# ANSIBLE_HOME keeps any installed or cached copy out. The scenarios share one ephemeral
# directory (the lab's state, its inventory, the wheelhouse and each host's files):
# MOLECULE_EPHEMERAL_DIRECTORY, by default /tmp/meshfabric-molecule, so that `create`,
# `converge -s NAME` and `destroy` run one after another see the same lab.
# Environment: MESHFABRIC_VENV (default: <repo>/.venv); MESHFABRIC_WHEELHOUSE, a wheelhouse
# already built from this tree (default: built once by the default scenario's create).
# Usage: scripts/molecule.sh test --all | create | converge -s envoy | verify -s envoy | destroy
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${MESHFABRIC_VENV:-$repo/.venv}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/ansible_collections/meshfabric"
ln -s "$repo" "$work/ansible_collections/meshfabric/mesh"

cd "$repo"
export PATH="$venv/bin:$PATH"
export ANSIBLE_HOME="$work/home" ANSIBLE_COLLECTIONS_PATH="$work"
export MOLECULE_EPHEMERAL_DIRECTORY=${MOLECULE_EPHEMERAL_DIRECTORY:-/tmp/meshfabric-molecule}
export MOLECULE_GLOB="molecule/*/molecule.yml"
molecule --base-config .config/molecule/config.yml "$@"
