"""The catalog's exceptions; each carries a sentence a person can read."""


class CatalogError(Exception):
    """Base of every catalog error."""
