"""The catalog's exceptions; each carries a sentence a person can read."""


class CatalogError(Exception):
    """Base of every catalog error."""


class UnknownEventError(CatalogError):
    """A message arrived under a routing key no event is published with."""
