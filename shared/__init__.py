"""The package every Databasement service imports: contracts, topology, settings, plumbing."""
