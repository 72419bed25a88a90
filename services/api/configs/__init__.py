"""Backup configurations: the model, database selection and timing."""

from services.api.configs.model import (
    BackupConfig,
    BackupSettings,
    DatabaseSelection,
    Gfs,
    Notify,
    Retention,
)
from services.api.configs.selection import select_databases
from services.api.configs.timing import due_slot, latest_slot, next_slot

__all__ = [
    "BackupConfig",
    "BackupSettings",
    "DatabaseSelection",
    "Gfs",
    "Notify",
    "Retention",
    "due_slot",
    "latest_slot",
    "next_slot",
    "select_databases",
]
