# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reading resource definitions from YAML files and directories."""

from __future__ import annotations

import os
from typing import Any

from ansible.module_utils.common.yaml import HAS_YAML, yaml_load_all

from ansible_collections.meshfabric.mesh.plugins.module_utils.exceptions import MeshError

try:
    from yaml import YAMLError
except ImportError:  # load_definitions reports the missing library
    YAMLError = ValueError  # type: ignore[assignment,misc]

YAML_SUFFIXES = (".yaml", ".yml")


def load_definitions(path: str) -> list[dict[str, Any]]:
    """Every resource in a YAML file (several documents allowed) or in a directory.

    A directory is read recursively in name order, so runs are reproducible.
    """
    if not HAS_YAML:
        raise MeshError("reading YAML needs PyYAML, which ansible-core itself requires")
    if os.path.isdir(path):
        files = sorted(
            os.path.join(root, name)
            for root, _dirs, names in os.walk(path)
            for name in names
            if name.endswith(YAML_SUFFIXES)
        )
    elif os.path.isfile(path):
        files = [path]
    else:
        raise MeshError(f"src {path} is neither a file nor a directory")
    return [doc for file in files for doc in _documents(file)]


def _documents(path: str) -> list[dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as handle:
            documents = [doc for doc in yaml_load_all(handle) if doc is not None]
    except (OSError, YAMLError) as exc:
        raise MeshError(f"cannot read {path}: {exc}") from exc
    for doc in documents:
        if not isinstance(doc, dict) or "type" not in doc or "name" not in doc:
            raise MeshError(f"{path}: every document must be a resource with a type and a name")
    return documents
