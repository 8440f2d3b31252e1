"""DataplaneInsight: the proxy's versions from its node, its certificate from each issue."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from envoy.config.core.v3.base_pb2 import Node
from google.protobuf.json_format import ParseDict

from meshfabric.ca.identities import IdentityProvider
from meshfabric.cli.inspect import dataplane_row
from meshfabric.resources import Resource, ResourceKey
from meshfabric.store.sqlite import SqliteStore
from meshfabric.xds.admission.admission import proxy_versions
from meshfabric.xds.admission.insights import ProxyInsights
from meshfabric.xds.model.proxy import ProxyId

WEB = frozenset({"web"})


class CountingStore(SqliteStore):
    """Counts the writes, to show that insights are not rewritten on the hot path."""

    puts = 0

    async def put(
        self, resource: Resource, expected_version: int | None = None
    ) -> tuple[Resource, bool]:
        self.puts += 1
        return await super().put(resource, expected_version)


def _node(**fields: Any) -> Node:
    return ParseDict({"id": "default.web-1", **fields}, Node())


def test_versions_of_meshfabric_dp_and_envoy_are_read_from_the_node_as_kuma_shapes_them() -> None:
    node = _node(
        metadata={"version": "0.1.0", "mesh": "default"},
        user_agent_build_version={
            "version": {"major_number": 1, "minor_number": 40, "patch": 2},
            "metadata": {
                "revision.sha": "9e55",
                "revision.status": "Clean",
                "build.type": "RELEASE",
                "ssl.version": "BoringSSL",
            },
        },
    )
    assert proxy_versions(node) == {
        "kumaDp": {"version": "0.1.0"},
        "envoy": {"version": "1.40.2", "build": "9e55/1.40.2/Clean/RELEASE/BoringSSL"},
    }


def test_an_envoy_reporting_only_a_version_string_and_no_dp_version_gives_just_that() -> None:
    assert proxy_versions(_node(user_agent_version="1.30.0")) == {
        "envoy": {"version": "1.30.0", "build": ""}
    }
    assert proxy_versions(_node()) == {}


async def test_each_certificate_issue_of_a_connected_proxy_is_recorded_once(
    tmp_path: Path,
) -> None:
    store = CountingStore(tmp_path / "store.db")
    insights = ProxyInsights(store, "cp-1")
    identities = IdentityProvider(store)
    identities.issue_listeners.append(insights.certificate_issued)
    key = ResourceKey("DataplaneInsight", "default", "web-1")
    try:
        await identities.identity("default", "db-1", "ca-1", frozenset({"db"}), 3600)  # not here
        insights.connected(ProxyId("default", "web-1"), {"envoy": {"version": "1.40.0"}})
        first = await identities.identity("default", "web-1", "ca-1", WEB, 3600)
        await identities.identity("default", "web-1", "ca-1", WEB, 3600)  # reused: no write
        await insights.flush()
        writes_after_first = store.puts
        second = await identities.identity("default", "web-1", "ca-1", frozenset({"api"}), 60)
        await insights.flush()
        recorded = await store.get(key)
        unconnected = await store.get(ResourceKey("DataplaneInsight", "default", "db-1"))
        writes = store.puts
    finally:
        await store.close()
    assert second.certificate.issued_at >= first.certificate.issued_at
    assert writes - writes_after_first == 1
    assert unconnected is None
    assert recorded is not None
    mtls = recorded.spec["mTLS"]
    assert mtls["certificateRegenerations"] == 2
    assert _parsed(mtls["certificateExpirationTime"]) == second.certificate.not_after
    assert _parsed(mtls["lastCertificateRegeneration"]) == second.certificate.issued_at
    assert recorded.spec["subscriptions"][0]["version"] == {"envoy": {"version": "1.40.0"}}


def _parsed(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def test_inspect_dataplanes_rows_show_versions_and_expiry_or_a_dash() -> None:
    overview = {
        "name": "web-1",
        "dataplaneInsight": {
            "subscriptions": [
                {
                    "connectTime": "2026-12-01T14:00:00Z",
                    "version": {"kumaDp": {"version": "0.1.0"}, "envoy": {"version": "1.40.0"}},
                }
            ],
            "mTLS": {"certificateExpirationTime": "2026-12-02T14:00:00.123456Z"},
        },
    }
    assert dataplane_row(overview)[-3:] == ["0.1.0", "1.40.0", "2026-12-02 14:00:00"]
    assert dataplane_row({"name": "db-1"})[-3:] == ["-", "-", "-"]
