"""The dumper service."""
