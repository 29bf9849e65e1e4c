"""CLI command groups beyond the core ones, loaded lazily by ``harness.cli``."""
