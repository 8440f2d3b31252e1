"""Kuma 2.14's validation of the non-policy types, rule by rule: each YAML table under
kuma_parity/ holds one type's inputs and the violations Kuma reports, with its field paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from meshfabric.resources import REGISTRY, ValidationFailed

TABLES = Path(__file__).parent / "kuma_parity"
PARITY_TYPES = (
    "Mesh", "Dataplane", "ZoneIngress", "ZoneEgress", "Zone", "MeshService",
    "MeshExternalService", "MeshMultiZoneService", "HostnameGenerator", "Secret", "GlobalSecret",
)  # fmt: skip


def cases() -> list[Any]:
    found = []
    for type_name in PARITY_TYPES:
        table = yaml.safe_load((TABLES / f"{type_name.lower()}.yaml").read_text())
        for case in table:
            found.append(pytest.param(type_name, case, id=f"{type_name}: {case['case']}"))
    return found


def violations_of(type_name: str, fields: dict[str, Any]) -> list[dict[str, str]]:
    try:
        REGISTRY.get(type_name).validate(fields)
    except ValidationFailed as failed:
        return [{"field": v.field, "message": v.reason} for v in failed.violations]
    return []


@pytest.mark.parametrize(("type_name", "case"), cases())
def test_kuma_refuses_and_so_do_we(type_name: str, case: dict[str, Any]) -> None:
    assert violations_of(type_name, case["input"]) == case["violations"]


def test_every_table_is_a_parity_type() -> None:
    assert {path.stem for path in TABLES.glob("*.yaml")} == {t.lower() for t in PARITY_TYPES}
