"""Invalid resources are rejected with Kuma's field path and a reason a person can act on."""

from __future__ import annotations

from typing import Any

import pytest

from meshfabric.resources import REGISTRY, ValidationFailed

MESH_TO = [{"targetRef": {"kind": "Mesh"}, "default": {"idleTimeout": "1s"}}]
INBOUND = {"port": 8080, "tags": {"kuma.io/service": "web"}}
MES_MATCH = {"port": 443, "protocol": "http"}

CASES: list[tuple[str, dict[str, Any], str, str]] = [
    # --- Zone, secrets
    ("Zone", {"enabld": True}, "enabld", "unknown field"),
    ("Zone", {"enabled": "yes"}, "enabled", "input should be a valid boolean"),
    ("Secret", {"data": "not base64!"}, "data", "must be base64 encoded"),
    ("Secret", {}, "data", "must be defined"),
    ("GlobalSecret", {"data": "dGVzdA==", "dta": "x"}, "dta", "unknown field"),
    # --- Dataplane
    ("Dataplane", {}, "networking", "must be defined"),
    (
        "Dataplane",
        {"networking": {"address": "10.0.0.1", "inbound": [{"tags": {"kuma.io/service": "a"}}]}},
        "networking.inbound[0].port",
        "port must be in the range [1, 65535]",
    ),
    (
        "Dataplane",
        {"networking": {"address": "10.0.0.1", "inbound": [{"port": 80, "tags": {"app": "a"}}]}},
        'networking.inbound[0].tags["kuma.io/service"]',
        "tag has to exist",
    ),
    (
        "Dataplane",
        {"networking": {"address": "", "inbound": [INBOUND]}},
        "networking.address",
        "address can't be empty",
    ),
    (
        "Dataplane",
        {"networking": {"address": "10.0.0.1", "inbound": [{**INBOUND, "prt": 1}]}},
        "networking.inbound[0].prt",
        "unknown field",
    ),
    (
        "Dataplane",
        {"networking": {"address": "10.0.0.1", "inbound": [{**INBOUND, "port": "80"}]}},
        "networking.inbound[0].port",
        "input should be a valid integer",
    ),
    (
        "Dataplane",
        {
            "networking": {
                "address": "10.0.0.1",
                "gateway": {"type": "BUILTIN", "tags": {"kuma.io/service": "edge"}},
                "inbound": [INBOUND],
            }
        },
        "networking.inbound",
        "inbound cannot be defined for builtin gateways",
    ),
    (
        "Dataplane",
        {"networking": {"address": "10.0.0.1", "outbound": [{"port": 1, "tags": {"a": "b"}}]}},
        "networking.outbound[0].tags",
        'mandatory tag "kuma.io/service" is missing',
    ),
    (
        "Dataplane",
        {
            "networking": {
                "address": "10.0.0.1",
                "inbound": [{**INBOUND, "serviceProbe": {"interval": "ten seconds"}}],
            }
        },
        "networking.inbound[0].serviceProbe.interval",
        "is not a duration",
    ),
    (
        "Dataplane",
        {
            "networking": {
                "address": "10.0.0.1",
                "inbound": [INBOUND],
                "transparent_proxying": {"ipFamilyMode": "IPv5"},
            }
        },
        "networking.transparent_proxying.ipFamilyMode",
        "must be one of UnSpecified, DualStack, IPv4, IPv6",
    ),
    # --- ZoneIngress, ZoneEgress
    (
        "ZoneIngress",
        {"networking": {"address": "10.0.0.1", "port": 10001, "advertisedPort": 10001}},
        "networking.advertisedAddress",
        "has to be defined with advertisedPort",
    ),
    (
        "ZoneIngress",
        {"networking": {"port": 70000}},
        "networking.port",
        "port must be in the range",
    ),
    (
        "ZoneIngress",
        {"networking": {"port": 10001}, "availableServices": [{"tags": {"app": "x"}}]},
        "availableService[0].tags",
        'mandatory tag "kuma.io/service" is missing',
    ),
    (
        "ZoneEgress",
        {"networking": {"address": "0.0.0.0", "port": 10002}},
        "networking.address.address",
        "must not be 0.0.0.0 or ::",
    ),
    ("ZoneEgress", {"zone": "z", "networkng": {}}, "networkng", "unknown field"),
    # --- MeshService, MeshMultiZoneService, MeshExternalService, HostnameGenerator
    (
        "MeshService",
        {"selector": {"dataplaneTags": {"app": "a"}, "dataplaneRef": {"name": "dp"}}},
        "spec.selector",
        "must specify only one of: dataplaneTags, dataplaneRef, or dataplaneLabels",
    ),
    ("MeshService", {"ports": [{"port": 0}]}, "spec.ports[0].port", "greater than or equal to 1"),
    (
        "MeshService",
        {"ports": [{"port": 80, "targetPort": 1.5}]},
        "spec.ports[0].targetPort",
        "valid",
    ),
    ("MeshService", {"state": "Up"}, "spec.state", "must be one of Available, Unavailable"),
    (
        "MeshMultiZoneService",
        {"selector": {"meshService": {"matchLabels": {}}}, "ports": [{"port": 80}]},
        "spec.selector.meshService.matchLabels",
        "cannot be empty",
    ),
    (
        "MeshMultiZoneService",
        {
            "selector": {"meshService": {"matchLabels": {"a": "b"}}},
            "ports": [{"port": 80, "appProtocol": "udp"}],
        },
        "spec.ports[0].appProtocol",
        "appProtocol must be one of: grpc, http, http2, kafka, tcp",
    ),
    (
        "MeshMultiZoneService",
        {"ports": [{"port": 80}]},
        "spec.selector.meshService.matchLabels",
        "cannot be empty",
    ),
    (
        "MeshExternalService",
        {"match": {"port": 443, "protocol": "udp"}},
        "spec.match.protocol",
        "must be one of",
    ),
    ("MeshExternalService", {}, "spec.match", "must be defined"),
    (
        "MeshExternalService",
        {"match": MES_MATCH, "endpoints": [{"address": "not a host!", "port": 443}]},
        "spec.endpoints[0].address",
        "address has to be a valid IP or hostname",
    ),
    (
        "MeshExternalService",
        {"match": MES_MATCH, "tls": {"verification": {"clientCert": {"secret": "cert"}}}},
        "spec.tls.verification.clientKey",
        "must be defined when clientCert is defined",
    ),
    (
        "MeshExternalService",
        {"match": MES_MATCH, "tls": {"version": {"min": "TLS13", "max": "TLS12"}}},
        "spec.tls.version.min",
        "min version must be lower than max",
    ),
    (
        "MeshExternalService",
        {"match": MES_MATCH, "extension": {"type": ""}},
        "spec.extension.type",
        "must not be empty",
    ),
    (
        "HostnameGenerator",
        {"template": "{{ .Name }}.mesh"},
        "spec.selector",
        "exact one selector (meshService, meshExternalService) must be defined",
    ),
    (
        "HostnameGenerator",
        {"selector": {"meshService": {"matchLabels": {"a": "b"}}}, "template": "{{ .Name }}_X"},
        "spec.template",
        'template renders to "name_X" which is not a valid DNS name',
    ),
    (
        "HostnameGenerator",
        {"selector": {"meshService": {"matchLabels": {"a": "b"}}}, "template": "{{ .Nam }}.mesh"},
        "spec.template",
        "couldn't render template",
    ),
    # --- targetRef kinds and fields, shared by the policies
    (
        "MeshTimeout",
        {"to": [{"targetRef": {"kind": "Dataplane"}, "default": {"idleTimeout": "1s"}}]},
        "spec.to[0].targetRef.kind",
        "value is not supported, must be one of Mesh, MeshService",
    ),
    (
        "MeshTimeout",
        {
            "targetRef": {"kind": "MeshGateway", "name": "edge"},
            "to": [
                {
                    "targetRef": {"kind": "MeshService", "name": "b"},
                    "default": {"idleTimeout": "1s"},
                }
            ],
        },
        "spec.to[0].targetRef.kind",
        "value is not supported, must be one of Mesh, MeshExternalService",
    ),
    (
        "MeshTimeout",
        {"targetRef": {"kind": "Mesh", "name": "default"}, "to": MESH_TO},
        "spec.targetRef.name",
        "using name with kind Mesh is not yet supported",
    ),
    (
        "MeshTimeout",
        {"targetRef": {"kind": "Dataplane", "tags": {"app": "a"}}, "to": MESH_TO},
        "spec.targetRef.tags",
        "must not be set with kind Dataplane",
    ),
    (
        "MeshTimeout",
        {"to": [{"targetRef": {"kind": "MeshService"}, "default": {"idleTimeout": "1s"}}]},
        "spec.to[0].targetRef",
        "name or labels must be set when kind is MeshService",
    ),
    (
        "MeshTimeout",
        {"targetRef": {"kind": "Dataplane", "sectionName": "http"}, "to": MESH_TO},
        "spec.targetRef.sectionName",
        "can only be used with inbound policies",
    ),
    (
        "MeshTimeout",
        {"to": [{"targetRef": {"kind": "Mesh", "nmae": "x"}, "default": {}}]},
        "spec.to[0].targetRef.nmae",
        "unknown field",
    ),
    (
        "MeshTimeout",
        {"to": [{"targetRef": {"knd": "Mesh"}, "default": {}}]},
        "spec.to[0].targetRef.kind",
        "must be defined",
    ),
    (
        "MeshTimeout",
        {"targetRef": {"kind": "Mesh"}},
        "spec",
        "at least one of 'from', 'to' or 'rules' has to be defined",
    ),
    (
        "MeshTimeout",
        {"to": MESH_TO, "rules": [{"default": {"idleTimeout": "1s"}}]},
        "spec",
        "fields 'to' and 'from' must be empty when 'rules' is defined",
    ),
    # --- MeshTimeout conf
    (
        "MeshTimeout",
        {"to": [{"targetRef": {"kind": "Mesh"}, "default": {"idleTimeout": "10 seconds"}}]},
        "spec.to[0].default.idleTimeout",
        "is not a duration",
    ),
    (
        "MeshTimeout",
        {"to": [{"targetRef": {"kind": "Mesh"}, "default": {"idleTimeout": 10}}]},
        "spec.to[0].default.idleTimeout",
        "input should be a valid string",
    ),
    (
        "MeshTimeout",
        {"to": [{"targetRef": {"kind": "Mesh"}, "default": {"connectionTimeout": "0s"}}]},
        "spec.to[0].default.connectionTimeout",
        "must be greater than zero when defined",
    ),
    (
        "MeshTimeout",
        {"to": [{"targetRef": {"kind": "Mesh"}, "default": {}}]},
        "spec.to[0].default",
        "at least one timeout should be configured",
    ),
    (
        "MeshTimeout",
        {"to": [{"targetRef": {"kind": "Mesh"}, "default": {"http": {"requestTimeot": "1s"}}}]},
        "spec.to[0].default.http.requestTimeot",
        "unknown field",
    ),
    (
        "MeshTimeout",
        {
            "targetRef": {"kind": "MeshHTTPRoute", "name": "r"},
            "to": [{"targetRef": {"kind": "Mesh"}, "default": {"idleTimeout": "1s"}}],
        },
        "spec.to[0].default.idleTimeout",
        "can't be specified when top-level TargetRef is referencing MeshHTTPRoute",
    ),
    (
        "MeshTimeout",
        {"from": [{"targetRef": {"kind": "MeshSubset"}, "default": {"idleTimeout": "1s"}}]},
        "spec.from[0].targetRef.kind",
        "must be one of Mesh",
    ),
    (
        "MeshTimeout",
        {
            "rules": [
                {
                    "matches": [{"spiffeID": {"type": "Exact", "value": "spiffe://td/ns/a"}}],
                    "default": {"idleTimeout": "1s"},
                }
            ]
        },
        "spec.rules[0].default.idleTimeout",
        "can't be specified when matches contain spiffeID",
    ),
    (
        "MeshTimeout",
        {"rules": [{"matches": [{}], "default": {"idleTimeout": "1s"}}]},
        "spec.rules[0].matches[0]",
        "must specify at least one of 'spiffeID' or 'sni'",
    ),
    # --- MeshRetry
    ("MeshRetry", {"from": []}, "spec.from", "unknown field"),
    (
        "MeshRetry",
        {"to": [{"targetRef": {"kind": "Mesh"}, "default": {}}]},
        "spec.to[0].default.conf",
        "at least one of the 'tcp', 'http', 'grpc' must be specified",
    ),
    (
        "MeshRetry",
        {"to": [{"targetRef": {"kind": "Mesh"}, "default": {"tcp": {"maxConnectAttempt": 0}}}]},
        "spec.to[0].default.conf.tcp.maxConnectAttempt",
        "must be greater than 0",
    ),
    (
        "MeshRetry",
        {"to": [{"targetRef": {"kind": "Mesh"}, "default": {"http": {"retryOn": ["5XX"]}}}]},
        "spec.to[0].default.conf.http.retryOn[0]",
        "unknown item '5XX'",
    ),
    (
        "MeshRetry",
        {"to": [{"targetRef": {"kind": "Mesh"}, "default": {"grpc": {"retryOn": ["Aborted"]}}}]},
        "spec.to[0].default.conf.grpc.retryOn[0]",
        "unknown item 'Aborted'",
    ),
    (
        "MeshRetry",
        {"to": [{"targetRef": {"kind": "Mesh"}, "default": {"http": {"perTryTimeout": "5"}}}]},
        "spec.to[0].default.http.perTryTimeout",
        "is not a duration",
    ),
    (
        "MeshRetry",
        {"to": [{"targetRef": {"kind": "Mesh"}, "default": {"http": {"backOff": {}}}}]},
        "spec.to[0].default.conf.http.backOff",
        "must not be empty",
    ),
    (
        "MeshRetry",
        {
            "to": [
                {
                    "targetRef": {"kind": "Mesh"},
                    "default": {"http": {"hostSelection": [{"predicate": "OmitHostsWithTags"}]}},
                }
            ]
        },
        "spec.to[0].default.conf.http.hostSelection[0].tags",
        "must be defined",
    ),
    # --- MeshHealthCheck
    (
        "MeshHealthCheck",
        {"to": [{"targetRef": {"kind": "Mesh"}, "default": {"interval": "10s"}}]},
        "spec.to[0].default",
        "must have at least one defined: http, tcp, grpc",
    ),
    (
        "MeshHealthCheck",
        {"to": [{"targetRef": {"kind": "Mesh"}, "default": {"tcp": {}, "unhealthyThreshold": 0}}]},
        "spec.to[0].default.unhealthyThreshold",
        "must be greater than zero when defined",
    ),
    (
        "MeshHealthCheck",
        {
            "to": [
                {
                    "targetRef": {"kind": "Mesh"},
                    "default": {"tcp": {}, "healthyPanicThreshold": "101"},
                }
            ]
        },
        "spec.to[0].default.healthyPanicThreshold",
        "must be in inclusive range [0.0, 100.0]",
    ),
    (
        "MeshHealthCheck",
        {"to": [{"targetRef": {"kind": "Mesh"}, "default": {"http": {"expectedStatuses": [600]}}}]},
        "spec.to[0].default.http.expectedStatuses[0]",
        "must be in inclusive range [100, 599]",
    ),
    (
        "MeshHealthCheck",
        {"to": [{"targetRef": {"kind": "MeshHTTPRoute", "name": "r"}, "default": {"tcp": {}}}]},
        "spec.to[0].targetRef.kind",
        "value is not supported",
    ),
    # --- MeshCircuitBreaker
    (
        "MeshCircuitBreaker",
        {"to": [{"targetRef": {"kind": "Mesh"}, "default": {}}]},
        "spec.to[0].default",
        "at least one of: 'connectionLimits' or 'outlierDetection' should be configured",
    ),
    (
        "MeshCircuitBreaker",
        {
            "to": [
                {
                    "targetRef": {"kind": "Mesh"},
                    "default": {"outlierDetection": {"disabled": False}},
                }
            ]
        },
        "spec.to[0].default.outlierDetection.detectors",
        "must be defined",
    ),
    (
        "MeshCircuitBreaker",
        {
            "to": [
                {
                    "targetRef": {"kind": "Mesh"},
                    "default": {"connectionLimits": {"maxConnections": 0}},
                }
            ]
        },
        "spec.to[0].default.connectionLimits.maxConnections",
        "must be greater than zero when defined",
    ),
    (
        "MeshCircuitBreaker",
        {
            "to": [
                {
                    "targetRef": {"kind": "Mesh"},
                    "default": {
                        "outlierDetection": {
                            "maxEjectionPercent": 150,
                            "detectors": {"totalFailures": {}},
                        }
                    },
                }
            ]
        },
        "spec.to[0].default.outlierDetection.maxEjectionPercent",
        "must be in inclusive range [0, 100]",
    ),
    (
        "MeshCircuitBreaker",
        {
            "to": [
                {
                    "targetRef": {"kind": "Mesh"},
                    "default": {
                        "outlierDetection": {
                            "baseEjectionTime": "30",
                            "detectors": {"totalFailures": {}},
                        }
                    },
                }
            ]
        },
        "spec.to[0].default.outlierDetection.baseEjectionTime",
        "is not a duration",
    ),
    # --- MeshLoadBalancingStrategy
    (
        "MeshLoadBalancingStrategy",
        {
            "to": [
                {"targetRef": {"kind": "Mesh"}, "default": {"loadBalancer": {"type": "LeastConn"}}}
            ]
        },
        "spec.to[0].default.loadBalancer.type",
        "must be one of RoundRobin, LeastRequest, RingHash, Random, Maglev",
    ),
    (
        "MeshLoadBalancingStrategy",
        {
            "to": [
                {"targetRef": {"kind": "Mesh"}, "default": {"hashPolicies": [{"type": "Header"}]}}
            ]
        },
        "spec.to[0].default.hashPolicies[0].header",
        "must be defined",
    ),
    (
        "MeshLoadBalancingStrategy",
        {
            "to": [
                {
                    "targetRef": {"kind": "Mesh"},
                    "default": {
                        "localityAwareness": {"crossZone": {"failover": [{"to": {"type": "Only"}}]}}
                    },
                }
            ]
        },
        "spec.to[0].default.localityAwareness.crossZone.failover[0].to.zones",
        "must not be empty when type is Only",
    ),
    (
        "MeshLoadBalancingStrategy",
        {
            "to": [
                {
                    "targetRef": {"kind": "MeshHTTPRoute", "name": "r"},
                    "default": {"loadBalancer": {"type": "Random"}},
                }
            ]
        },
        "spec.to[0].default.loadBalancer",
        "field is not allowed when targetRef.kind is MeshHTTPRoute",
    ),
    (
        "MeshLoadBalancingStrategy",
        {
            "to": [
                {
                    "targetRef": {"kind": "Mesh"},
                    "default": {
                        "loadBalancer": {"type": "LeastRequest", "leastRequest": {"choiceCount": 1}}
                    },
                }
            ]
        },
        "spec.to[0].default.loadBalancer.leastRequest.choiceCount",
        "greater than or equal to 2",
    ),
    # --- MeshMetric
    (
        "MeshMetric",
        {"default": {"backends": [{"type": "Statsd"}]}},
        "spec.default.backends[0].type",
        "must be one of Prometheus, OpenTelemetry",
    ),
    (
        "MeshMetric",
        {"default": {"backends": [{"type": "Prometheus"}]}},
        "spec.default.backends.backend[0].prometheus",
        "must be defined",
    ),
    (
        "MeshMetric",
        {
            "default": {
                "backends": [{"type": "OpenTelemetry", "openTelemetry": {"endpoint": "collector"}}]
            }
        },
        "spec.default.backends.backend[0].openTelemetry.endpoint",
        "must be in host:port format",
    ),
    (
        "MeshMetric",
        {"default": {"sidecar": {"profiles": {"include": [{"type": "Regex", "match": "("}]}}}},
        "spec.default.sidecar.profiles.include[0].match",
        "invalid regex",
    ),
    ("MeshMetric", {"to": [], "default": {}}, "spec.to", "unknown field"),
    (
        "MeshMetric",
        {"default": {"applications": [{"port": 0}]}},
        "spec.default.applications[0].port",
        "greater than or equal to 1",
    ),
    # --- MeshTrace
    ("MeshTrace", {"default": {}}, "spec.default.backends", "must be defined"),
    (
        "MeshTrace",
        {"default": {"backends": [{"type": "Jaeger"}]}},
        "spec.default.backends[0].type",
        "must be one of Zipkin, Datadog, OpenTelemetry",
    ),
    (
        "MeshTrace",
        {"default": {"backends": [{"type": "Datadog", "datadog": {"url": "https://dd:8126"}}]}},
        "spec.default.backends[0].datadog.url",
        "scheme must be http",
    ),
    (
        "MeshTrace",
        {"default": {"backends": [], "sampling": {"overall": 150}}},
        "spec.default.sampling.overall",
        "must be in inclusive range [0.0, 100.0]",
    ),
    (
        "MeshTrace",
        {"default": {"backends": [], "tags": [{"name": "t"}]}},
        "spec.default.tags[0]",
        "tag must have only one type defined: header, literal",
    ),
    (
        "MeshTrace",
        {"default": {"backends": [{"type": "OpenTelemetry", "openTelemetry": {}}]}},
        "spec.default.backends[0].openTelemetry",
        "openTelemetry must have exactly one defined: endpoint, backendRef",
    ),
    # --- MeshAccessLog
    (
        "MeshAccessLog",
        {"to": [{"targetRef": {"kind": "Mesh"}, "default": {}}]},
        "spec.to[0].default.backends",
        "must be defined",
    ),
    (
        "MeshAccessLog",
        {"to": [{"targetRef": {"kind": "Mesh"}, "default": {"backends": [{"type": "Syslog"}]}}]},
        "spec.to[0].default.backends[0].type",
        "must be one of Tcp, File, OpenTelemetry",
    ),
    (
        "MeshAccessLog",
        {"to": [{"targetRef": {"kind": "Mesh"}, "default": {"backends": [{"type": "File"}]}}]},
        "spec.to[0].default.backends[0].file",
        "must be defined",
    ),
    (
        "MeshAccessLog",
        {
            "to": [
                {
                    "targetRef": {"kind": "Mesh"},
                    "default": {
                        "backends": [
                            {
                                "type": "File",
                                "file": {"path": "/tmp/l", "format": {"type": "Plain"}},
                            }
                        ]
                    },
                }
            ]
        },
        "spec.to[0].default.backends[0].file.format.plain",
        "must be defined",
    ),
    (
        "MeshAccessLog",
        {"to": [{"targetRef": {"kind": "Mesh"}}]},
        "spec.to[0].default.backends",
        "must be defined",
    ),
    (
        "MeshAccessLog",
        {
            "targetRef": {"kind": "MeshGateway", "name": "g"},
            "to": [
                {"targetRef": {"kind": "MeshService", "name": "b"}, "default": {"backends": []}}
            ],
        },
        "spec.to[0].targetRef.kind",
        "must be one of Mesh",
    ),
]


@pytest.mark.parametrize(
    ("type_name", "fields", "path", "reason"),
    CASES,
    ids=[f"{case[0]}-{case[2]}-{index}" for index, case in enumerate(CASES)],
)
def test_invalid(type_name: str, fields: dict[str, Any], path: str, reason: str) -> None:
    with pytest.raises(ValidationFailed) as failed:
        REGISTRY.get(type_name).validate(fields)
    found = {v.field: v.reason for v in failed.value.violations}
    assert path in found, f"no violation at {path}: {found}"
    assert reason in found[path]
