"""Whatever a client sends, validation answers with violations and never crashes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshfabric.resources import REGISTRY, ResourceType, ValidationFailed
from tests.unit.resources.examples import documents, own_fields

# Field names the types really use, so that random documents reach deep into the schemas.
_WORDS = [
    "targetRef",
    "kind",
    "name",
    "labels",
    "tags",
    "sectionName",
    "from",
    "to",
    "rules",
    "default",
    "matches",
    "spiffeID",
    "type",
    "value",
    "backends",
    "http",
    "tcp",
    "grpc",
    "networking",
    "address",
    "port",
    "inbound",
    "outbound",
    "gateway",
    "selector",
    "ports",
    "match",
    "endpoints",
    "tls",
    "template",
    "data",
    "enabled",
    "loadBalancer",
    "url",
    "Mesh",
    "MeshService",
    "Dataplane",
    "kuma.io/service",
    "1s",
    "0",
    "-1",
    "5xx",
    "",
]
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(_WORDS)
    | st.text(max_size=20)
)
_JSON = st.recursive(
    _SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(_WORDS) | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)
_TYPES = st.sampled_from(list(REGISTRY))


def _check(rtype: ResourceType, fields: Any) -> None:
    try:
        rtype.validate(fields)
    except ValidationFailed as failed:
        assert failed.violations
        assert all(isinstance(v.field, str) and v.reason for v in failed.violations)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rtype=_TYPES, fields=st.dictionaries(st.sampled_from(_WORDS), _JSON, max_size=6))
def test_random_documents_only_fail_validation(rtype: ResourceType, fields: dict[str, Any]) -> None:
    _check(rtype, fields)


def _replace_somewhere(value: Any, data: st.DataObject) -> Any:
    """A copy of `value` with one subtree replaced by random JSON."""
    if isinstance(value, dict) and value and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(value, key=str)))
        return {**value, key: _replace_somewhere(value[key], data)}
    if isinstance(value, list) and value and data.draw(st.booleans()):
        index = data.draw(st.integers(0, len(value) - 1))
        return [*value[:index], _replace_somewhere(value[index], data), *value[index + 1 :]]
    return data.draw(_JSON)


@pytest.mark.parametrize("document", [doc for _, doc in documents()])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_damaged_examples_only_fail_validation(
    document: dict[str, Any], data: st.DataObject
) -> None:
    rtype = REGISTRY.get(document["type"])
    fields = _replace_somewhere(own_fields(rtype, document), data)
    if isinstance(fields, dict):
        _check(rtype, fields)
