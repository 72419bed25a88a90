"""The catalog's adapters to the outside: its PostgreSQL tables."""
