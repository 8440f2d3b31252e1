# Sourced by scripts/ansible-lint.sh, scripts/molecule.sh and scripts/ansible-test.sh: this
# tree as the collection meshfabric.mesh, in a temporary ansible_collections/ tree.
#
# The roles include one another by their collection names (meshfabric.mesh._common), so the
# Ansible tools must find this tree under .../ansible_collections/meshfabric/mesh.
# Sets repo (the repository's root), venv (MESHFABRIC_VENV, default <repo>/.venv, whose bin/
# goes first on PATH), work (a temporary directory removed on exit) and collection (the
# collection's path inside work); link_collection or copy_collection puts the tree there.

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
venv=${MESHFABRIC_VENV:-$repo/.venv}
export PATH="$venv/bin:$PATH"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
collection="$work/ansible_collections/meshfabric/mesh"
mkdir -p "$(dirname "$collection")"

# A link to this tree, found through ANSIBLE_COLLECTIONS_PATH; ANSIBLE_HOME keeps any
# installed or cached copy of the collection out.
link_collection() {
    ln -s "$repo" "$collection"
    export ANSIBLE_HOME="$work/home" ANSIBLE_COLLECTIONS_PATH="$work"
}

# A copy of the given paths of this tree (those that exist), for tools that refuse a symlink.
copy_collection() {
    local path existing=()
    for path in "$@"; do
        [ -e "$repo/$path" ] && existing+=("$path")
    done
    mkdir -p "$collection"
    tar -C "$repo" -cf - "${existing[@]}" | tar -C "$collection" -xf -
}
