from dataclasses import replace
from typing import Any

import pytest

from meshfabric.dp.address import ControlPlaneAddress
from meshfabric.dp.bootstrap import BootstrapParams, bootstrap
from meshfabric.dp.dataplane import DataplaneError, load, main_service

YAML = """
type: Dataplane
mesh: default
name: web-01
networking:
  address: 10.0.0.1
  inbound:
    - port: 15001
      servicePort: 8080
      tags: {kuma.io/service: web, kuma.io/protocol: http}
"""


def test_flags_override_the_document() -> None:
    dataplane = load(YAML, name="web-02", mesh=None, address=None, outbounds=["10001:backend"])
    assert dataplane["name"] == "web-02"
    assert dataplane["networking"]["address"] == "10.0.0.1"
    assert dataplane["networking"]["outbound"] == [
        {"port": 10001, "tags": {"kuma.io/service": "backend"}}
    ]
    assert main_service(dataplane) == "web"


def test_a_dataplane_from_flags_alone() -> None:
    dataplane = load(None, "db-1", None, None, inbounds=["15002:5432:db"])
    assert dataplane["mesh"] == "default"
    assert dataplane["networking"]["inbound"][0]["tags"] == {"kuma.io/service": "db"}


@pytest.mark.parametrize("inbound", ["15002:db", "x:1:db", "15002:99999:db"])
def test_malformed_inbounds_are_refused(inbound: str) -> None:
    with pytest.raises(DataplaneError):
        load(None, "db-1", None, None, inbounds=[inbound])


@pytest.mark.parametrize(
    ("text", "target", "tls"),
    [
        ("unix:///run/cp.sock", "unix:///run/cp.sock", False),
        ("grpc://cp.example:5678", "cp.example:5678", False),
        ("grpcs://cp.example:5678", "cp.example:5678", True),
        ("cp.example", "cp.example:5678", True),
        ("10.0.0.5:15678", "10.0.0.5:15678", True),
        ("https://cp.example:5678", "cp.example:5678", True),
        ("https://cp.example", "cp.example:5678", True),
        ("grpcs://[fd00::1]:5678/", "[fd00::1]:5678", True),
    ],
)
def test_control_plane_addresses(text: str, target: str, tls: bool) -> None:
    address = ControlPlaneAddress.parse(text)
    assert (address.grpc_target, address.tls) == (target, tls)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("http://127.0.0.1:5678", "http:// is not an xDS scheme"),
        ("https://127.0.0.1:5681", "5681 is the REST API port"),
        ("grpcs://cp.example:port", "Port could not be cast to integer"),
        ("cp.example:99999", "Port out of range"),
        ("https://cp.example:5678/xds", "more than a scheme, a host and a port"),
        ("https://:5678", "it names no host"),
    ],
)
def test_other_control_plane_addresses_are_refused_with_the_forms_that_work(
    text: str, reason: str
) -> None:
    with pytest.raises(ValueError, match="--cp-address") as refused:
        ControlPlaneAddress.parse(text)
    assert reason in str(refused.value)
    assert "https://host:5678" in str(refused.value)


def _ads_cluster(address: ControlPlaneAddress) -> dict[str, Any]:
    params = BootstrapParams("m", "web-1", "web", "dataplane", "t", address, {})
    cluster: dict[str, Any] = bootstrap(params)["static_resources"]["clusters"][0]
    return cluster


def test_the_ads_cluster_verifies_a_tls_control_plane_by_name() -> None:
    address = replace(ControlPlaneAddress.parse("grpcs://cp.example:5678"), ca_cert_pem="PEM")
    tls = _ads_cluster(address)["transport_socket"]["typed_config"]
    validation = tls["common_tls_context"]["validation_context"]
    assert tls["sni"] == "cp.example"
    assert validation["trusted_ca"] == {"inline_string": "PEM"}
    assert validation["match_typed_subject_alt_names"] == [
        {"san_type": "DNS", "matcher": {"exact": "cp.example"}}
    ]


def test_the_ads_cluster_matches_an_ip_san_without_sni() -> None:
    address = replace(ControlPlaneAddress.parse("127.0.0.1:5678"), ca_cert_pem="PEM")
    tls = _ads_cluster(address)["transport_socket"]["typed_config"]
    assert "sni" not in tls
    san = tls["common_tls_context"]["validation_context"]["match_typed_subject_alt_names"]
    assert san == [{"san_type": "IP_ADDRESS", "matcher": {"exact": "127.0.0.1"}}]


def test_plaintext_addresses_get_no_transport_socket() -> None:
    for text in ("unix:///run/cp.sock", "grpc://cp.example:5678"):
        assert "transport_socket" not in _ads_cluster(ControlPlaneAddress.parse(text))
