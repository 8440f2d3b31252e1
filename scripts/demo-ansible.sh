#!/usr/bin/env bash
# Demo step: apply a directory of mesh resources (Kong Air's) with
# meshfabric.mesh.resources to a running control plane, then apply it again
# and show that nothing changed.
#
# Usage: scripts/demo-ansible.sh URL TOKEN_FILE RESOURCES_DIR
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
url=$1
token_file=$2
src=$(cd "$3" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The collection from this tree, at the path layout Ansible looks collections up by.
dest="$work/ansible_collections/meshfabric/mesh"
mkdir -p "$dest"
tar -C "$repo" -cf - galaxy.yml meta plugins | tar -C "$dest" -xf -
export ANSIBLE_COLLECTIONS_PATH="$work" ANSIBLE_HOME="$work/home" ANSIBLE_LOCALHOST_WARNING=0

run() {
    ansible-playbook -i localhost, "$repo/playbooks/apply_resources.yml" \
        -e "ansible_python_interpreter=$(command -v python)" \
        -e "meshfabric_url=$url" -e "meshfabric_token_file=$token_file" \
        -e "meshfabric_resources_src=$src" -e meshfabric_managed_by=kong-air
}

echo "-- First run: the resources are brought to what $3 says, and labelled as managed"
run | sed -n '/TASK \[Report/,/^$/p'
echo "-- Second run: nothing may change"
output=$(run)
echo "$output" | sed -n '/TASK \[Report/,/^$/p'
echo "$output" | grep -E '^localhost +:'
if ! echo "$output" | grep -Eq 'localhost +: ok=[0-9]+ +changed=0 '; then
    echo "the second run changed something" >&2
    exit 1
fi
echo "-- Second run: nothing changed"
