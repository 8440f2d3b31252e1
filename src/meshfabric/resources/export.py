"""The type facts the Ansible collection needs, written out as one of its module_utils.

The collection may not import meshfabric (it runs on a controller that has only
ansible-core), so it carries a copy generated from the descriptors:

    python -m meshfabric.resources.export > plugins/module_utils/type_facts.py

tests/unit/resources/test_descriptors.py fails when the copy and the descriptors differ.
"""

from __future__ import annotations

from meshfabric.resources.model import POLICY_APPLY_ORDER
from meshfabric.resources.registry import Registry, default_registry

_HEADER = '''# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Facts about the control plane's resource types that ``/_resources`` may not carry.

Generated from meshfabric's type descriptors; do not edit. Regenerate with
``python -m meshfabric.resources.export > plugins/module_utils/type_facts.py``.
"""

from __future__ import annotations
'''


def collection_type_facts(registry: Registry | None = None) -> str:
    """The source of plugins/module_utils/type_facts.py."""
    registry = registry or default_registry()
    orders = "".join(f'    "{t.name}": {t.apply_order},\n' for t in registry)
    top_level = "".join(f'        "{t.name}",\n' for t in registry if not t.has_spec)
    return (
        f"{_HEADER}\n"
        "# What other resources refer to is written first and deleted last.\n"
        f"APPLY_ORDER = {{\n{orders}}}\n\n"
        "# A type this file does not know yet is most likely a newer policy.\n"
        f"DEFAULT_APPLY_ORDER = {POLICY_APPLY_ORDER}\n\n"
        "# Kuma's older types and secrets carry their fields at the top level; every\n"
        "# other type nests them under ``spec``.\n"
        f"TOP_LEVEL_TYPES = frozenset(\n    {{\n{top_level}    }}\n)\n"
    )


if __name__ == "__main__":
    print(collection_type_facts(), end="")
