"""Generators build a proxy's resources from its context; policies edit them afterwards."""
