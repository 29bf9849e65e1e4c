"""Helpers for reading and making task data: official file formats, hub loading, synthetic smoke data, units."""
