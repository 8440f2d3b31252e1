"""Mesh resource types: schema, validation, scope and sync direction of each."""

from typing import TYPE_CHECKING

from meshfabric.resources.errors import Violation
from meshfabric.resources.model import (
    Affects,
    KdsFlow,
    Parsed,
    Resource,
    ResourceKey,
    ResourceType,
    Scope,
    ValidationFailed,
)
from meshfabric.resources.registry import Registry, default_registry

if TYPE_CHECKING:
    REGISTRY: Registry  # every type served; built on first use (see default_registry)
else:

    def __getattr__(name: str) -> Registry:
        if name == "REGISTRY":
            return default_registry()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "REGISTRY",
    "Affects",
    "KdsFlow",
    "Parsed",
    "Registry",
    "Resource",
    "ResourceKey",
    "ResourceType",
    "Scope",
    "ValidationFailed",
    "Violation",
]
