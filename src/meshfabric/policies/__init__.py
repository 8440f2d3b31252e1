"""One package per policy; adding a policy means adding its package, nothing else.

A policy's package holds
- `api.py`: `TYPE`, the policy's descriptor (schema and validation; no Envoy imports),
- `plugin.py` (optional): `PLUGIN`, what the policy contributes to a proxy's Envoy config,
- `testdata/`: golden files of that config (`UPDATE_GOLDEN_FILES=true pytest
  tests/unit/policies` rewrites them).

Packages are found here and in any `meshfabric/policies/` directory on the Python path
that holds nothing but policies (no `meshfabric/__init__.py` beside it).
This module imports nothing from meshfabric at load time: the type registry calls it while
`meshfabric.resources` itself is still loading.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import os
import pkgutil
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from meshfabric.policies.core import PolicyPlugin
    from meshfabric.resources.model import ResourceType


def _added_policy_directories() -> list[str]:
    """`meshfabric/policies/` directories on the Python path that only add policies: not
    those of another copy of meshfabric (such as an editable install beside a checkout)."""
    found = []
    for entry in sys.path:
        root = os.path.join(entry, "meshfabric")
        directory = os.path.join(root, "policies")
        if os.path.isdir(directory) and not os.path.exists(os.path.join(root, "__init__.py")):
            found.append(directory)
    return found


__path__ = [*__path__, *_added_policy_directories()]


def policy_packages() -> list[str]:
    """The module names of every policy package, sorted."""
    found = pkgutil.iter_modules(__path__, prefix=f"{__name__}.")
    return sorted(info.name for info in found if info.ispkg)


def policy_types() -> list[ResourceType]:
    """Each package's descriptor, marked with whether the package has an Envoy plugin."""
    types = []
    for package in policy_packages():
        api = importlib.import_module(f"{package}.api")
        has_plugin = importlib.util.find_spec(f"{package}.plugin") is not None
        types.append(dataclasses.replace(api.TYPE, has_envoy_plugin=has_plugin))
    return types


def policy_plugins() -> list[PolicyPlugin]:
    """The plugin of every package that has one."""
    return [
        importlib.import_module(f"{package}.plugin").PLUGIN
        for package in policy_packages()
        if importlib.util.find_spec(f"{package}.plugin") is not None
    ]
