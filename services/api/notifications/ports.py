"""What notifications need from outside the api's own tables (STYLE.md rule 12): the
catalog, asked over the broker (BrokerLink in the api; a stub in tests)."""

from services.api.asking import CatalogAsker

__all__ = ["CatalogAsker"]
