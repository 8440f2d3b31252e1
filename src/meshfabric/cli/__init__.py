"""meshctl: the command line for people who run a meshfabric (or Kuma 2.x) control plane."""
