"""The snapshot half's adapters: the snapshots and snapshot_events tables."""
