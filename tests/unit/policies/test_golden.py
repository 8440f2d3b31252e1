"""The Envoy config each policy plugin produces, compared with its package's golden files.

Each `<case>.input.yaml` in `meshfabric/policies/<name>/testdata/` names a proxy of the
mesh below, whether the mesh has mTLS, the policies to apply and optionally the zone of the
control plane, more resources (other dataplanes, what other zones sync) and the socket of
the proxy's metrics server (`metrics_socket`) and access-log FIFO (`access_log_pipe`);
`<case>.golden.yaml`
next to it is that proxy's config (secrets left out). After a deliberate change, rewrite
the golden files with `UPDATE_GOLDEN_FILES=true pytest tests/unit/policies`.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.protobuf import json_format, symbol_database
from google.protobuf.message import Message

import meshfabric.policies
from meshfabric.ca.builtin import WorkloadCertificate
from meshfabric.ca.identities import Identity
from meshfabric.dataplane_api.node import Features
from meshfabric.resources import REGISTRY, Resource
from meshfabric.xds.envoy import types
from meshfabric.xds.generate.profile import build_resources
from meshfabric.xds.model.context import DEFAULT_ZONE, MeshContext
from meshfabric.xds.model.proxy_context import ProxyContext
from tests.unit.policies.generation import dataplane

UPDATE = os.environ.get("UPDATE_GOLDEN_FILES") == "true"
# web-1 calls backend over HTTP and db over TCP.
DATAPLANES = (
    dataplane("web-1", "web", "http", 8080, "backend", "db"),
    dataplane("backend-1", "backend", "http", 8081),
    dataplane("db-1", "db", "tcp", 5432),
)
BUILTIN_MTLS = {
    "mtls": {"enabledBackend": "ca-1", "backends": [{"name": "ca-1", "type": "builtin"}]}
}
# Placeholders: the certificates go into secrets, which the golden files leave out.
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_CERTIFICATE = WorkloadCertificate(b"cert", b"key", _EPOCH, _EPOCH)
CASES = sorted(
    path
    for directory in meshfabric.policies.__path__
    for path in Path(directory).glob("*/testdata/*.input.yaml")
)


@pytest.mark.parametrize(
    "case", CASES, ids=lambda path: f"{path.parts[-3]}/{path.name.removesuffix('.input.yaml')}"
)
def test_plugin_output_matches_the_golden_file(case: Path) -> None:
    spec = yaml.safe_load(case.read_text())
    golden = case.with_name(case.name.replace(".input.yaml", ".golden.yaml"))
    produced = yaml.safe_dump(proxy_config(spec), sort_keys=True)
    if UPDATE:
        golden.write_text(produced)
    assert golden.exists(), f"no {golden.name}: run UPDATE_GOLDEN_FILES=true pytest {__file__}"
    assert produced == golden.read_text()


def test_every_policy_with_a_plugin_has_golden_files() -> None:
    with_cases = {case.parts[-3] for case in CASES}
    with_plugin = {rtype.name.lower() for rtype in REGISTRY if rtype.has_envoy_plugin}
    assert with_plugin <= with_cases


def proxy_config(spec: dict[str, Any]) -> dict[str, Any]:
    mesh = MeshContext("default", spec.get("zone", DEFAULT_ZONE))
    mesh.put(Resource("Mesh", "", "default", BUILTIN_MTLS if spec.get("mtls") else {}))
    for resource in DATAPLANES:
        mesh.put(resource)
    for item in spec.get("resources", []):
        mesh.put(Resource(**{"mesh": "default", **item}))
    for item in spec["policies"]:
        REGISTRY.get(item["type"]).validate(item["spec"])  # a golden input is a valid policy
        mesh.put(Resource(item["type"], "default", item["name"], item["spec"]))
    proxy = mesh.proxy(spec["proxy"])
    assert proxy is not None
    identity = (
        Identity("default", frozenset(proxy.services), _CERTIFICATE, b"ca", _EPOCH)
        if spec.get("mtls")
        else None
    )
    features = Features(
        metrics_socket=spec.get("metrics_socket", ""),
        access_log_pipe=spec.get("access_log_pipe", ""),
        metrics_push_socket=spec.get("metrics_push_socket", ""),
    )
    ctx = ProxyContext.of(mesh, proxy, identity=identity, features=features)
    config: dict[str, Any] = {}
    for item in build_resources(ctx).encode():
        if item.type_url != types.SECRET:
            config.setdefault(types.SHORT_NAMES[item.type_url], []).append(_decoded(item))
    for items in config.values():
        items.sort(key=lambda entry: entry.get("name") or entry.get("clusterName") or "")
    return {"matched": ctx.matched, "xds": config}


def _decoded(item: Any) -> dict[str, Any]:
    full_name = item.type_url.removeprefix("type.googleapis.com/")
    message: Message = symbol_database.Default().GetSymbol(full_name)()
    item.body.Unpack(message)
    # Through JSON: MessageToDict leaves packed messages as OrderedDicts, which YAML refuses.
    decoded: dict[str, Any] = json.loads(json_format.MessageToJson(message))
    return decoded
