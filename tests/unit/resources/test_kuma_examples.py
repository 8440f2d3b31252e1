"""Every Universal example from Kuma's documentation applies without a violation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from meshfabric.resources import REGISTRY, Scope
from tests.unit.resources.examples import EXAMPLES, documents, own_fields

DOCUMENTS = documents()


@pytest.mark.parametrize("document", [doc for _, doc in DOCUMENTS], ids=[i for i, _ in DOCUMENTS])
def test_example_is_valid(document: dict[str, Any]) -> None:
    rtype = REGISTRY.get(document["type"])
    assert document["name"]
    assert ("mesh" in document) == (rtype.scope is Scope.MESH)
    rtype.validate(own_fields(rtype, document))


def test_every_type_has_examples() -> None:
    files = {path.stem for path in EXAMPLES.glob("*.yaml")}
    missing = {t.name for t in REGISTRY if t.name.lower() not in files}
    assert not missing
    assert len(DOCUMENTS) >= 40


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_each_file_holds_one_type_and_names_its_source(path: Path) -> None:
    text = path.read_text()
    assert "kumahq/kuma" in text.split("---", 1)[0]
    types = {doc["type"] for doc in yaml.safe_load_all(text) if doc}
    assert len(types) == 1
    assert types.pop().lower() == path.stem
