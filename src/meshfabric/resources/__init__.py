"""Mesh resource types: schema, validation, scope and sync direction of each."""

from meshfabric.resources.errors import Violation
from meshfabric.resources.model import (
    Affects,
    KdsFlow,
    Resource,
    ResourceKey,
    ResourceType,
    Scope,
    ValidationFailed,
)
from meshfabric.resources.registry import REGISTRY, Registry

__all__ = [
    "REGISTRY",
    "Affects",
    "KdsFlow",
    "Registry",
    "Resource",
    "ResourceKey",
    "ResourceType",
    "Scope",
    "ValidationFailed",
    "Violation",
]
