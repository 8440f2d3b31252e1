"""meshfabric: a multi-zone service mesh control plane, data-plane runner and tooling."""

__version__ = "0.1.0"
