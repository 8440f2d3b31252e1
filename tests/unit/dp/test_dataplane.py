import pytest

from meshfabric.dp.address import ControlPlaneAddress
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
    ("text", "target"),
    [
        ("unix:///run/cp.sock", "unix:///run/cp.sock"),
        ("grpc://cp.example:5678", "cp.example:5678"),
        ("cp.example", "cp.example:5678"),
        ("10.0.0.5:15678", "10.0.0.5:15678"),
    ],
)
def test_control_plane_addresses(text: str, target: str) -> None:
    assert ControlPlaneAddress.parse(text).grpc_target == target
