"""The xDS side of the zone control plane: snapshot cache, ADS server, config generation."""
