"""Benchmarks: they print figures; they assert nothing."""
