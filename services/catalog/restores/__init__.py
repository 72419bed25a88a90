"""The restore half of the catalog: restores folded from their events, and their queries."""
