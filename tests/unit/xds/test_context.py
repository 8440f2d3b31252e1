"""The mesh context keeps each resource as its validated model."""

from __future__ import annotations

import logging

import pytest

from meshfabric.resources import Resource
from meshfabric.xds.model.context import MeshContext

TIMEOUT = {"targetRef": {"kind": "Mesh"}, "to": [{"targetRef": {"kind": "Mesh"}, "default": {}}]}


def test_a_policy_is_kept_as_its_schema_model() -> None:
    mesh = MeshContext("default")
    mesh.put(Resource("MeshTimeout", "default", "short", TIMEOUT))
    [policy] = mesh.policies_of("MeshTimeout")
    assert policy.name == "short"
    assert policy.fields.targetRef is not None and policy.fields.targetRef.kind == "Mesh"


def test_a_stored_resource_its_schema_refuses_is_left_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    mesh = MeshContext("default")
    valid = Resource("MeshTimeout", "default", "short", TIMEOUT)
    mesh.put(valid)
    refused = Resource("MeshTimeout", "default", "short", {**TIMEOUT, "targetRf": {}})
    with caplog.at_level(logging.WARNING):
        assert mesh.put(refused) is valid
    assert mesh.policies_of("MeshTimeout") == []
    assert mesh.policy(refused) is None
    assert "targetRf" in caplog.text
