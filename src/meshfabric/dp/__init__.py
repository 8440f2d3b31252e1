"""meshfabric-dp: register a dataplane, bootstrap Envoy and keep it running."""
