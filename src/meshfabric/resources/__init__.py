"""Mesh resource types: schema, validation, scope and sync direction of each."""

from meshfabric.resources.errors import Violation
from meshfabric.resources.model import (
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
    "KdsFlow",
    "Registry",
    "Resource",
    "ResourceKey",
    "ResourceType",
    "Scope",
    "ValidationFailed",
    "Violation",
]
