"""The databases past their configuration's RPO, as the overdue check recorded them."""

from services.api.adapters.overdue import list_overdue
from services.api.notifications.schemas import OverdueEntry
from shared.database import Pool


async def overdue_entries(pool: Pool, schema: str) -> list[OverdueEntry]:
    """Oldest first."""
    found = await list_overdue(pool, schema)
    return [OverdueEntry.model_validate(entry, from_attributes=True) for entry in found]
