"""Each policy refuses what Kuma 2.14's validator refuses, at Kuma's field paths.

The tables are `meshfabric/policies/<name>/testdata/validation.yaml`: a policy's spec and the
violations (field path and reason) it must get; an empty list means the spec is valid.
They are written by hand from Kuma's `validator.go` next to each policy's API; reasons are
ours, field paths Kuma's except where its table's header says otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import meshfabric.policies
from meshfabric.resources import REGISTRY, ValidationFailed

TABLES = {
    Path(path).parts[-3]: Path(path)
    for directory in meshfabric.policies.__path__
    for path in sorted(Path(directory).glob("*/testdata/validation.yaml"))
}
CASES = [
    pytest.param(policy, case, id=f"{policy}: {case['name']}")
    for policy, table in sorted(TABLES.items())
    for case in yaml.safe_load(table.read_text())
]


@pytest.mark.parametrize(("policy", "case"), CASES)
def test_violations_match_the_table(policy: str, case: dict[str, Any]) -> None:
    rtype = next(rtype for rtype in REGISTRY if rtype.name.lower() == policy)
    try:
        rtype.validate(case["spec"])
        found = []
    except ValidationFailed as failed:
        found = [{"field": v.field, "message": v.reason} for v in failed.violations]
    assert found == case["violations"]


def test_every_policy_has_a_validation_table() -> None:
    policies = {rtype.name.lower() for rtype in REGISTRY if rtype.is_policy}
    assert policies <= set(TABLES)
