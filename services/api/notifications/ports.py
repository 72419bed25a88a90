"""What notifications need from outside the api's own tables (STYLE.md rule 12)."""

from typing import Any, Protocol


class CatalogAsker(Protocol):
    """Asks the catalog a query over the broker (BrokerLink in the api; a stub in tests)."""

    async def ask_catalog(
        self, body: dict[str, Any], *, wait: float | None = None
    ) -> dict[str, Any]: ...
