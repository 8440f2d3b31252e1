"""MeshLoadBalancingStrategy: how requests spread over endpoints, zones and localities."""
