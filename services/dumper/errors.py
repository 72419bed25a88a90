"""The dumper's exceptions; each carries a sentence a person can read."""


class DumperError(Exception):
    """Base of every dumper error."""
