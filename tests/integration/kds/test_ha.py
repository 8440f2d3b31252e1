"""Replicas on one PostgreSQL database: two of global serving one zone, two of a zone sharing
one KDS connection, and what happens when the one that holds it is killed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from meshfabric.kds.names import hashed_name
from meshfabric.xds.envoy.types import CLUSTER
from tests.integration.kds.conftest import MESH, Federation
from tests.integration.kds.test_sync import (
    TIMEOUT,
    dataplane,
    get,
    mesh_service,
    put,
    timeout_policy,
    wait_for,
)
from tests.support.ads import AdsClient
from tests.support.control_plane import ControlPlane
from tests.support.net import free_port, wait_until
from tests.support.postgres import PostgresServer
from tests.support.replicas import (
    GlobalReplicas,
    Start,
    connected_through,
    instance_id,
    latest_subscription,
    leads,
    on_postgres,
    start_zone,
)


def dataplane_token(cp: ControlPlane, service: str) -> str:
    request = {"mesh": "default", "tags": {"kuma.io/service": [service]}, "validFor": "1h"}
    with cp.client() as client:
        response = client.post("/tokens/dataplane", json=request)
    response.raise_for_status()
    return response.text


def test_zones_keep_syncing_through_the_other_global_replica_when_the_leader_is_killed(
    start_control_plane: Start, postgres: PostgresServer, tmp_path: Path
) -> None:
    world = GlobalReplicas(start_control_plane, postgres.new_database(), MESH)
    first, second = world.replicas
    token = world.zone_token("zone-a", tmp_path)
    zone = start_zone(
        start_control_plane, "zone-a", "zone-a", world.addresses, token, world.ca_file, {}
    )
    first_id, second_id = instance_id(first), instance_id(second)
    wait_until(lambda: connected_through(second, "zone-a", first_id), TIMEOUT, "the stream")
    # Written at the replica that does not hold the zone's stream: the other one hears of it.
    put(second, "/meshes/default/meshtimeouts/before", timeout_policy("before"))
    wait_for(zone, "/meshes/default/meshtimeouts/before", "a write at the other replica")

    # The first replica started first, so it leads: the leader and the stream's holder die.
    wait_until(lambda: leads(world.metrics_ports[0]), TIMEOUT, "the first replica leading")
    assert not leads(world.metrics_ports[1])
    first.kill()
    wait_until(lambda: connected_through(second, "zone-a", second_id), TIMEOUT, "the new stream")
    wait_until(lambda: leads(world.metrics_ports[1]), TIMEOUT, "the survivor leading")
    put(second, "/meshes/default/meshtimeouts/after", timeout_policy("after"))
    wait_for(zone, "/meshes/default/meshtimeouts/after", "a policy written after the kill")
    put(zone, "/meshes/default/meshservices/backend", mesh_service("backend"))
    put(zone, "/meshes/default/dataplanes/backend-1", dataplane("backend-1", "backend"))
    for path in ("meshservices/backend", "dataplanes/backend-1"):
        kind, name = path.split("/")
        synced = f"/meshes/default/{kind}/{hashed_name('default', name, 'zone-a')}"
        wait_for(second, synced, f"{path} made in the zone after the kill, at global")


def test_a_zone_lost_with_its_global_replica_is_shown_offline_by_the_other(
    start_control_plane: Start, postgres: PostgresServer, tmp_path: Path
) -> None:
    world = GlobalReplicas(start_control_plane, postgres.new_database(), MESH)
    first, second = world.replicas
    token = world.zone_token("zone-a", tmp_path)
    # The zone knows only the first replica: when that one dies, nothing dials the other.
    only_first = f"grpcs://127.0.0.1:{world.kds_ports[0]}"
    zone = start_zone(start_control_plane, "zone-a", "zone-a", only_first, token, world.ca_file, {})
    first_id = instance_id(first)
    wait_until(lambda: connected_through(second, "zone-a", first_id), TIMEOUT, "the stream")

    zone.kill()
    first.kill()  # before it could record the zone's disconnection
    wait_until(
        lambda: "disconnectTime" in (latest_subscription(second, "zone-a") or {}),
        TIMEOUT,
        "the zone offline at the surviving replica",
    )


def cluster_pushes(proxy: AdsClient, name: str) -> int:
    """How many responses have carried the cluster so far."""
    return sum(
        any(resource.name == name for resource in response.resources)
        for response in list(proxy.responses)
        if response.type_url == CLUSTER
    )


def test_a_killed_zone_leader_hands_the_kds_connection_to_the_other_zone_replica(
    federation: Federation, postgres: PostgresServer
) -> None:
    zone_db = on_postgres(postgres.new_database())
    token = federation.zone_token("zone-a")
    metrics_ports = [free_port(), free_port()]
    sockets = [federation.tmp_path / f"xds-{index}.sock" for index in range(2)]
    replicas = [
        start_zone(
            federation.start, f"zone-a-{index}", "zone-a", federation.address, token,
            federation.ca_file, zone_db, "--diagnostics-port", str(metrics_ports[index]),
            "--xds-unix-socket", str(sockets[index]),
        )
        for index in range(2)
    ]  # fmt: skip
    wait_until(lambda: leads(metrics_ports[0]), TIMEOUT, "the first one leading")
    assert not leads(metrics_ports[1])
    wait_for(replicas[1], "/meshes/default", "the mesh synced into the zone's database")
    # The replica that does not lead serves xDS too, and hears of writes made at the other.
    put(replicas[0], "/meshes/default/dataplanes/web-1", dataplane("web-1", "web"))
    proxy = AdsClient(str(sockets[1]), dataplane_token(replicas[1], "web"), "default", "web-1")
    proxy.open([])
    calls_api = dataplane("web-1", "web")
    calls_api["networking"]["outbound"] = [{"port": 19090, "tags": {"kuma.io/service": "api"}}]
    put(replicas[0], "/meshes/default/dataplanes/web-1", calls_api)
    wait_until(
        lambda: "api" in proxy.received(CLUSTER), TIMEOUT, "the outbound written at the other"
    )
    held = latest_subscription(federation.global_cp, "zone-a")
    assert held is not None and "disconnectTime" not in held

    replicas[0].kill()
    wait_until(lambda: leads(metrics_ports[1]), TIMEOUT, "the other one leading")
    wait_until(
        lambda: (latest_subscription(federation.global_cp, "zone-a") or held)["id"] != held["id"],
        TIMEOUT,
        "the other replica's KDS connection",
    )
    pushes = cluster_pushes(proxy, "api")
    policy = timeout_policy("after", seconds="7s")
    put(federation.global_cp, "/meshes/default/meshtimeouts/after", policy)
    wait_for(replicas[1], "/meshes/default/meshtimeouts/after", "a write at global in the zone")
    # The proxy's stream, at the replica that lived, carries the new timeout to it.
    wait_until(lambda: cluster_pushes(proxy, "api") > pushes, TIMEOUT, "the policy at the proxy")
    proxy.close()
    put(replicas[1], "/meshes/default/meshservices/backend", mesh_service("backend"))
    synced = hashed_name("default", "backend", "zone-a")
    wait_for(federation.global_cp, f"/meshes/default/meshservices/{synced}", "it at global")


def proxy_subscription(cp: ControlPlane, name: str) -> dict[str, Any] | None:
    overview = get(cp, f"/meshes/default/dataplanes/{name}/_overview")
    subscriptions: list[dict[str, Any]] = overview.json()["dataplaneInsight"]["subscriptions"]
    return subscriptions[-1] if subscriptions else None


def connect_proxy(cp: ControlPlane, socket: Path) -> AdsClient:
    put(cp, "/meshes/default/dataplanes/web-1", dataplane("web-1", "web"))
    proxy = AdsClient(str(socket), dataplane_token(cp, "web"), "default", "web-1").open([])
    held = instance_id(cp)
    wait_until(
        lambda: (proxy_subscription(cp, "web-1") or {}).get("controlPlaneInstanceId") == held,
        TIMEOUT,
        "the proxy's subscription",
    )
    return proxy


def test_a_proxy_lost_with_its_zone_replica_is_shown_offline_by_the_leader(
    start_control_plane: Start, postgres: PostgresServer, tmp_path: Path
) -> None:
    zone_db = on_postgres(postgres.new_database())
    metrics_port, socket = free_port(), tmp_path / "xds.sock"
    leader = start_control_plane(
        zone_db, "--mode", "zone", "--diagnostics-port", str(metrics_port), name="zone-0"
    )
    wait_until(lambda: leads(metrics_port), TIMEOUT, "the first replica leading")
    other = start_control_plane(
        zone_db, "--mode", "zone", "--xds-unix-socket", str(socket), name="zone-1"
    )
    put(leader, "/meshes/default", MESH)
    proxy = connect_proxy(other, socket)

    other.kill()  # with the proxy's stream, before it could record the disconnection
    wait_until(
        lambda: "disconnectTime" in (proxy_subscription(leader, "web-1") or {}),
        TIMEOUT,
        "the proxy offline at the leader",
    )
    proxy.close()


def test_a_proxy_connected_when_its_control_plane_was_killed_is_offline_after_restart(
    start_control_plane: Start, tmp_path: Path
) -> None:
    socket = tmp_path / "xds.sock"
    cp = start_control_plane({}, "--mode", "zone", "--xds-unix-socket", str(socket))
    put(cp, "/meshes/default", MESH)
    proxy = connect_proxy(cp, socket)
    cp.kill()
    proxy.close()

    restarted = start_control_plane({}, "--mode", "zone")
    wait_until(
        lambda: "disconnectTime" in (proxy_subscription(restarted, "web-1") or {}),
        TIMEOUT,
        "the proxy offline after the restart",
    )
