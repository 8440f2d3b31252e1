"""KDS: the sync between the global control plane and its zones.

Shared parts (names and labels, what flows where, the delta streams, the transport) are
assembled two ways: `global_server` serves zones, `zone_client` dials global.
"""
