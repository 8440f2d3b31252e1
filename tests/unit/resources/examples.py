"""Kuma's documented examples, stored under kuma_examples/, one file per type."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from meshfabric.resources import ResourceType

EXAMPLES = Path(__file__).parent / "kuma_examples"
# Identity and metadata of a document; the rest is the type's own fields.
_META = {"type", "name", "mesh", "labels"}


def own_fields(rtype: ResourceType, document: dict[str, Any]) -> dict[str, Any]:
    """What ResourceType.validate checks: the spec, or the top-level fields of older types."""
    if rtype.has_spec:
        spec: dict[str, Any] = document.get("spec") or {}
        return spec
    return {key: value for key, value in document.items() if key not in _META}


def documents() -> list[tuple[str, dict[str, Any]]]:
    """(id, document) for every example, ids like `meshtimeout-3`."""
    found = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        for index, document in enumerate(yaml.safe_load_all(path.read_text())):
            if document is not None:
                found.append((f"{path.stem}-{index}", document))
    return found
