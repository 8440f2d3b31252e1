"""What meshfabric-dp and the control plane agree on, and nothing else.

meshfabric-dp imports this package and no control-plane module, so it stays a small client:
the node metadata its Envoy presents (`node`), the registration call (`registration`), the
tags a Dataplane is read by and the VIP ranges it may route (`mesh`). Nothing here imports
the store, the xDS server or any other server-side package.
"""
