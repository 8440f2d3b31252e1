#!/usr/bin/env bash
# ansible-lint (production profile, .ansible-lint) on the collection's roles and playbooks, and
# on the playbooks of its molecule scenarios, with this tree linked as the collection
# meshfabric.mesh (scripts/lib/collection-tree.sh).
# Environment: MESHFABRIC_VENV (default: <repo>/.venv)
set -euo pipefail
source "$(dirname "$0")/lib/collection-tree.sh"
link_collection

cd "$repo"
ansible-lint --nocolor roles playbooks molecule
