"""The restore half's adapters: the restores table, and the snapshot columns restores use."""
