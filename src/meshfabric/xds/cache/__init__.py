"""Per-proxy snapshots and the watches of the streams that serve them."""
