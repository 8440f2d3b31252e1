#!/usr/bin/env bash
# Demo step: apply the Kong Air policies with meshfabric.mesh.resources to a
# running control plane, then apply them again and show that nothing changed.
#
# Usage: scripts/demo-ansible.sh URL TOKEN_FILE
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
url=$1
token_file=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The collection from this tree, at the path layout Ansible looks collections up by.
dest="$work/ansible_collections/meshfabric/mesh"
mkdir -p "$dest"
tar -C "$repo" -cf - galaxy.yml meta plugins | tar -C "$dest" -xf -
export ANSIBLE_COLLECTIONS_PATH="$work" ANSIBLE_HOME="$work/home" ANSIBLE_LOCALHOST_WARNING=0

run() {
    ansible-playbook -i localhost, "$repo/playbooks/kong_air_policies.yml" \
        -e "ansible_python_interpreter=$(command -v python)" \
        -e "meshfabric_url=$url" -e "meshfabric_token_file=$token_file" "$@"
}

echo "== Applying the Kong Air policies"
run
echo "== Applying them again: nothing may change"
output=$(run)
echo "$output" | tail -n 4
if ! echo "$output" | grep -Eq 'localhost +: ok=[0-9]+ +changed=0 '; then
    echo "the second run changed something" >&2
    exit 1
fi
echo "== Second run: nothing changed"
