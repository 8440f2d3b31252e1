"""The one table of resource types: looked up by name or by REST path segment."""

from __future__ import annotations

import functools
from collections.abc import Iterator

from meshfabric.resources.model import ResourceType, Scope


class UnknownType(LookupError):
    pass


class Registry:
    def __init__(self, types: list[ResourceType]) -> None:
        # Iterated in apply order, so that listings read from the most basic type down.
        ordered = sorted(types, key=lambda t: (t.apply_order, t.name))
        self._by_name = {t.name: t for t in ordered}
        self._by_plural = {t.plural: t for t in types}

    def __iter__(self) -> Iterator[ResourceType]:
        return iter(self._by_name.values())

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def get(self, name: str) -> ResourceType:
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(sorted(self._by_name))
            raise UnknownType(f'unknown resource type "{name}", known types: {known}') from None

    def by_plural(self, plural: str) -> ResourceType:
        try:
            return self._by_plural[plural]
        except KeyError:
            raise UnknownType(f'unknown resource path "{plural}"') from None

    def find(self, word: str) -> ResourceType:
        """Resolve what a person types: a type name, a plural path, any case."""
        lowered = word.lower()
        for rtype in self:
            if lowered in (rtype.name.lower(), rtype.plural, rtype.name.lower() + "s"):
                return rtype
        return self.get(word)

    def scoped(self, scope: Scope) -> list[ResourceType]:
        return [t for t in self if t.scope is scope]


@functools.cache
def default_registry() -> Registry:
    """Every type this control plane serves: the non-policy types and each policy package's.

    Built on first use, not at import: a policy's package imports this package's modules,
    and this registry imports the policy packages.
    """
    from meshfabric.policies import policy_types
    from meshfabric.resources import types

    return Registry(types.ALL + policy_types())
