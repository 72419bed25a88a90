"""Notifications, the overdue-backup alarm (RPO) and hooks (docs/notifications.md).

Import from the modules themselves (`routes`, `subscriber`, `quota`): this package's
settings are part of ApiSettings, so importing the routes here would be circular.
"""

from services.api.notifications.settings import NotificationSettings

__all__ = ["NotificationSettings"]
