#!/usr/bin/env bash
# Run ansible-test sanity and units on the meshfabric.mesh collection.
#
# ansible-test wants the collection at a real .../ansible_collections/<ns>/<name>/
# path (a symlink is refused), so the collection's files are copied into a
# temporary tree first (scripts/lib/collection-tree.sh). Its virtual environments bootstrap pip with a script
# downloaded from a host that is not reachable here: a stand-in that installs
# pip from a wheel fetched from PyPI is put into ansible-test's cache instead.
#
# Usage: scripts/ansible-test.sh [sanity|units]...   (default: sanity units)
# Environment: MESHFABRIC_VENV (default: <repo>/.venv), PYTHON_VERSION (3.11)
set -euo pipefail

source "$(dirname "$0")/lib/collection-tree.sh"
python_version=${PYTHON_VERSION:-3.11}
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(sanity units)

# What makes up the collection; the rest of the repository (control plane,
# Pulumi programs, project tests) is not part of it.
collection_paths=(galaxy.yml meta plugins roles playbooks changelogs COLLECTION.md
                  tests/config.yml tests/sanity tests/unit/plugins)

seed_pip_bootstrap() {
    local pip_version cache script
    pip_version=$(python - <<'PY'
import inspect, re
from ansible_test._internal import python_requirements
print(re.search(r"pip='([^']+)'", inspect.getsource(python_requirements.get_venv_packages))[1])
PY
)
    cache="$HOME/.ansible/test/cache"
    script="$cache/get_pip_${pip_version//./_}.py"
    [ -f "$script" ] && return
    mkdir -p "$cache"
    python -m pip download --quiet --no-deps --only-binary :all: -d "$cache" "pip==$pip_version"
    cat > "$script" <<PY
"""Stand-in for get-pip.py: install pip $pip_version from the wheel next to this file."""
import os, runpy, sys

wheel = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pip-$pip_version-py3-none-any.whl")
sys.path.insert(0, wheel)
sys.argv = ["pip", "install", "--quiet", "--no-index", "--disable-pip-version-check", wheel]
runpy.run_module("pip", run_name="__main__", alter_sys=True)
PY
}

copy_collection "${collection_paths[@]}"
# ansible-test lists a collection's files with git when it is a repository;
# the copy has no .git, so it walks the tree: keep caches out of it.
find "$collection" \( -name __pycache__ -o -name .pytest_cache \) -prune -exec rm -rf {} +

seed_pip_bootstrap
cd "$collection"
for test in "${tests[@]}"; do
    echo "== ansible-test $test"
    ansible-test "$test" --venv --python "$python_version" --color no
done
