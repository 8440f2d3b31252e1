"""The policy plugins, in the order they edit a proxy's resources."""

from __future__ import annotations

from collections.abc import Sequence

from meshfabric.policies import policy_plugins
from meshfabric.policies.core import PolicyPlugin


def _ordered(plugins: Sequence[PolicyPlugin]) -> tuple[PolicyPlugin, ...]:
    orders = [plugin.order for plugin in plugins]
    if len(set(orders)) != len(orders):
        raise ValueError(f"two policy plugins share an order: {sorted(orders)}")
    return tuple(sorted(plugins, key=lambda plugin: plugin.order))


PLUGINS = _ordered(policy_plugins())
