"""The snapshot half of the catalog: records folded from backup events, and their queries."""
