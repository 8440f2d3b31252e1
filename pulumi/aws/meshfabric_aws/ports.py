"""The mesh's well-known ports (see docs/pulumi.md for who talks to whom)."""

SSH = 22
MONITORING_ASSIGNMENTS = 5676
XDS = 5678
REST_API = 5681
KDS = 5685
ZONE_INGRESS = 10001
ZONE_EGRESS = 10002
