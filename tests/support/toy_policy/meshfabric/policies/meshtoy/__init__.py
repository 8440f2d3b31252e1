"""MeshToy: a policy that exists only to show that one package is all a policy needs.

This directory is put on the Python path of a control plane under test; nothing else in
meshfabric names it.
"""
