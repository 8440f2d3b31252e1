"""The ADS server: state-of-the-world and delta streams over the snapshot cache."""
