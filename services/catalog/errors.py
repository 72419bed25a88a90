"""The catalog's exceptions; each carries a sentence a person can read."""

from shared.rejection import MalformedMessageError


class CatalogError(Exception):
    """Base of every catalog error."""


class UnknownEventError(CatalogError, MalformedMessageError):
    """A message arrived under a routing key no event is published with."""
