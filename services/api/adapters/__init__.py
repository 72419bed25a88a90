"""The api's adapters: its PostgreSQL tables."""
