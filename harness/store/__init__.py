"""The node store: finished node folders, integrity checks, the event log, heartbeats, pruning, status."""
