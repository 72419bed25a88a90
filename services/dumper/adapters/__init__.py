"""The dumper's adapters to the outside world."""
