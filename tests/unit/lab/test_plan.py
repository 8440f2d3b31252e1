"""The address plan, the validation of topologies and the routers' rulesets, without root."""

from __future__ import annotations

from dataclasses import replace

import pytest

from meshfabric.lab import KONG_AIR, HostSpec, LabError, Role, Topology, ZoneSpec
from meshfabric.lab.firewall import router_ruleset
from meshfabric.lab.topology import Plan, PlannedZone, named, plan


def _zone(lab: Plan, name: str) -> PlannedZone:
    return next(zone for zone in lab.zones if zone.name == name)


def test_every_name_and_address_of_a_lab_carries_its_own_prefix_and_range() -> None:
    lab = plan(KONG_AIR, "ab12")

    assert all(name.startswith("mflab-ab12-") for name in lab.namespaces)
    assert len(set(lab.namespaces)) == len(lab.namespaces)
    addresses = [host.address for host in lab.hosts]
    assert len(set(addresses)) == len(addresses)
    for zone in lab.zones:
        assert all(host.address in zone.lan and host.address.is_private for host in zone.hosts)


def test_names_that_join_alike_still_get_distinct_namespaces() -> None:
    apps = (HostSpec("east-1-x", Role.APP), HostSpec("x", Role.APP))
    topology = Topology(
        "t", (KONG_AIR.zones[0], ZoneSpec("us", apps[:1]), ZoneSpec("us-east-1", apps[1:]))
    )

    namespaces = plan(topology, "ab12").namespaces

    assert len(set(namespaces)) == len(namespaces)


def test_an_unknown_topology_names_the_known_ones() -> None:
    with pytest.raises(LabError, match=r"unknown topology 'nope' \(known: kong-air\)"):
        named("nope")


@pytest.mark.parametrize(
    ("topology", "message"),
    [
        (replace(KONG_AIR, zones=KONG_AIR.zones[:1]), r"topology.zones: between 2"),
        (
            replace(KONG_AIR, zones=(*KONG_AIR.zones, KONG_AIR.zones[1])),
            r"topology.zones: zone names must be unique",
        ),
        (
            Topology("t", (KONG_AIR.zones[0], ZoneSpec("Bad_Zone", (HostSpec("a", Role.APP),)))),
            r"topology.zones\[Bad_Zone\].name",
        ),
        (
            Topology("t", (KONG_AIR.zones[0], ZoneSpec("z", (HostSpec("router", Role.APP),)))),
            r"topology.zones\[z\].hosts\[router\].name",
        ),
        (
            Topology(
                "t",
                (KONG_AIR.zones[0], ZoneSpec("z", (HostSpec("g", Role.GLOBAL_CONTROL_PLANE),))),
            ),
            r"topology.zones\[z\].hosts\[g\].role",
        ),
        (Topology("t", KONG_AIR.zones[1:]), r"no host has the role global-control-plane"),
    ],
)
def test_a_bad_topology_is_refused_naming_the_field(topology: Topology, message: str) -> None:
    with pytest.raises(LabError, match=message):
        plan(topology, "ab12")


def test_without_zone_egress_the_whole_lan_may_dial_other_ingresses() -> None:
    lab = plan(KONG_AIR, "ab12")
    ruleset = router_ruleset(_zone(lab, "us-east-1"), lab)

    assert (
        'iifname "lan" oifname "wan" ip saddr { 10.10.1.0/24 } ip daddr { 10.10.2.11 } '
        "tcp dport 10001 accept" in ruleset
    )
    assert (
        'iifname "lan" oifname "wan" ip saddr { 10.10.1.10 } ip daddr { 10.10.0.10 } '
        "tcp dport 5685 accept" in ruleset
    )


def test_with_zone_egress_only_egress_hosts_may_dial_other_ingresses() -> None:
    lab = plan(KONG_AIR.with_zone_egress(True), "ab12")
    ruleset = router_ruleset(_zone(lab, "eu-west-1"), lab)

    assert "ip saddr { 10.10.2.12 } ip daddr { 10.10.1.11 } tcp dport 10001 accept" in ruleset
    assert "ip saddr { 10.10.1.12 } ip daddr { 10.10.2.11 } tcp dport 10001 accept" in ruleset
    assert "10.10.2.0/24" not in ruleset


def test_the_global_router_lets_in_kds_from_zone_control_planes_only() -> None:
    lab = plan(KONG_AIR, "ab12")
    ruleset = router_ruleset(_zone(lab, "global"), lab)

    assert (
        'iifname "wan" oifname "lan" ip saddr { 10.10.1.10, 10.10.2.10 } '
        "ip daddr { 10.10.0.10 } tcp dport 5685 accept" in ruleset
    )
    assert "10001" not in ruleset


def test_only_the_monitoring_host_reaches_the_app_hosts_metrics_port() -> None:
    lab = plan(KONG_AIR, "ab12")
    rulesets = {zone.name: router_ruleset(zone, lab) for zone in lab.zones}

    assert (
        'iifname "wan" oifname "lan" ip saddr { 10.10.0.10 } '
        "ip daddr { 10.10.2.13, 10.10.2.14 } tcp dport 5670 accept" in rulesets["eu-west-1"]
    )
    assert (
        'iifname "lan" oifname "wan" ip saddr { 10.10.0.10 } '
        "ip daddr { 10.10.1.13, 10.10.1.14, 10.10.2.13, 10.10.2.14 } tcp dport 5670 accept"
        in rulesets["global"]
    )
    for ruleset in rulesets.values():
        metrics_rules = [line for line in ruleset.splitlines() if "dport 5670" in line]
        assert metrics_rules
        assert all("ip saddr { 10.10.0.10 }" in line for line in metrics_rules)


def test_only_the_monitoring_host_reaches_the_zone_control_planes_metrics_port() -> None:
    lab = plan(KONG_AIR, "ab12")
    rulesets = {zone.name: router_ruleset(zone, lab) for zone in lab.zones}

    assert (
        'iifname "wan" oifname "lan" ip saddr { 10.10.0.10 } '
        "ip daddr { 10.10.1.10 } tcp dport 5680 accept" in rulesets["us-east-1"]
    )
    assert (
        'iifname "lan" oifname "wan" ip saddr { 10.10.0.10 } '
        "ip daddr { 10.10.1.10, 10.10.2.10 } tcp dport 5680 accept" in rulesets["global"]
    )
    for ruleset in rulesets.values():
        rules = [line for line in ruleset.splitlines() if "dport 5680" in line]
        assert len(rules) == 1
        assert "ip saddr { 10.10.0.10 }" in rules[0]


@pytest.mark.parametrize("port", [4317, 514], ids=["otlp", "syslog"])
def test_only_the_app_hosts_reach_the_monitoring_hosts_trace_and_log_ports(port: int) -> None:
    lab = plan(KONG_AIR, "ab12")
    rulesets = {zone.name: router_ruleset(zone, lab) for zone in lab.zones}

    assert (
        'iifname "lan" oifname "wan" ip saddr { 10.10.1.13, 10.10.1.14 } '
        f"ip daddr {{ 10.10.0.10 }} tcp dport {port} accept" in rulesets["us-east-1"]
    )
    assert (
        'iifname "wan" oifname "lan" ip saddr { 10.10.1.13, 10.10.1.14, 10.10.2.13, 10.10.2.14 } '
        f"ip daddr {{ 10.10.0.10 }} tcp dport {port} accept" in rulesets["global"]
    )
    for ruleset in rulesets.values():
        rules = [line for line in ruleset.splitlines() if f"dport {port} " in line]
        assert rules
        assert all("ip daddr { 10.10.0.10 }" in line for line in rules)
