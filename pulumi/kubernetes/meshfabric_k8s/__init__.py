"""The `pulumi/kubernetes` program: a zone control plane, ZoneIngress and ZoneEgress per cluster."""
