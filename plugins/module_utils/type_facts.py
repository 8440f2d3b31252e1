# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Facts about the control plane's resource types that ``/_resources`` may not carry.

Generated from meshfabric's type descriptors; do not edit. Regenerate with
``python -m meshfabric.resources.export > plugins/module_utils/type_facts.py``.
"""

from __future__ import annotations

# What other resources refer to is written first and deleted last.
APPLY_ORDER = {
    "Mesh": 10,
    "GlobalSecret": 15,
    "Zone": 15,
    "Secret": 30,
    "HostnameGenerator": 40,
    "MeshExternalService": 50,
    "MeshService": 50,
    "MeshMultiZoneService": 60,
    "ZoneEgress": 70,
    "ZoneIngress": 70,
    "Dataplane": 80,
    "MeshAccessLog": 1000,
    "MeshCircuitBreaker": 1000,
    "MeshHealthCheck": 1000,
    "MeshLoadBalancingStrategy": 1000,
    "MeshMetric": 1000,
    "MeshRetry": 1000,
    "MeshTimeout": 1000,
    "MeshTrace": 1000,
    "MeshTrafficPermission": 1000,
}

# A type this file does not know yet is most likely a newer policy.
DEFAULT_APPLY_ORDER = 1000

# Kuma's older types and secrets carry their fields at the top level; every
# other type nests them under ``spec``.
TOP_LEVEL_TYPES = frozenset(
    {
        "Mesh",
        "GlobalSecret",
        "Zone",
        "Secret",
        "ZoneEgress",
        "ZoneIngress",
        "Dataplane",
    }
)
