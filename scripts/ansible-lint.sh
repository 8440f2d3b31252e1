#!/usr/bin/env bash
# ansible-lint (production profile, .ansible-lint) on the collection's roles and playbooks, and
# on the playbooks of its molecule scenarios.
#
# The roles include one another by their collection names (meshfabric.mesh._common), so
# ansible-lint must find this tree as the collection meshfabric.mesh: a temporary
# ansible_collections/ tree links to it, and ANSIBLE_HOME keeps any installed copy out.
# Environment: MESHFABRIC_VENV (default: <repo>/.venv)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${MESHFABRIC_VENV:-$repo/.venv}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/ansible_collections/meshfabric"
ln -s "$repo" "$work/ansible_collections/meshfabric/mesh"

cd "$repo"
ANSIBLE_HOME="$work/home" ANSIBLE_COLLECTIONS_PATH="$work" \
    "$venv/bin/ansible-lint" --nocolor roles playbooks molecule
