"""The words of each notification: a title, a sentence and the facts, as the payload. Pure."""

import unicodedata
from collections.abc import Callable
from datetime import datetime
from typing import Any

from services.api.notifications.rules import Kind

TITLES: dict[str, str] = {
    "backup_failed": "Backup failed",
    "backup_completed": "Backup completed",
    "restore_failed": "Restore failed",
    "restore_completed": "Restore completed",
    "verify_failed": "Verify failed",
    "verify_completed": "Verify passed",
    "volume_over_quota": "Volume over quota",
    "backup_overdue": "Backup overdue",
    "test": "Test notification",
}


def _where(facts: dict[str, Any]) -> str:
    server, database = facts.get("server"), facts.get("database")
    if server and database:
        return f"{database} on {server}"
    return str(database or server or "an unknown database")


def _overdue(facts: dict[str, Any]) -> str:
    last = facts.get("last_success_at") or "never"
    return (
        f"No completed backup of {_where(facts)} within {facts.get('rpo_hours')} h "
        f"(configuration {facts.get('config_name')}; last success: {last})"
    )


def _over_quota(facts: dict[str, Any]) -> str:
    return (
        f"Volume {facts.get('volume')} holds {facts.get('used_bytes')} bytes, over its "
        f"quota of {facts.get('quota_bytes')} bytes"
    )


_SENTENCES: dict[str, Callable[[dict[str, Any]], str]] = {
    "backup_failed": lambda f: f"Backup of {_where(f)} failed{_reason(f)}",
    "backup_completed": lambda f: f"Backup of {_where(f)} completed ({f.get('size') or 0} bytes)",
    "restore_failed": lambda f: f"Restore into {_where(f)} failed{_reason(f)}",
    "restore_completed": lambda f: f"Restore into {_where(f)} completed",
    "verify_failed": lambda f: f"Verify of a snapshot of {_where(f)} failed{_reason(f)}",
    "verify_completed": lambda f: f"Verify of a snapshot of {_where(f)} passed",
    "volume_over_quota": _over_quota,
    "backup_overdue": _overdue,
    "test": lambda _: "Test notification from Databasement: this channel works",
}


def _reason(facts: dict[str, Any]) -> str:
    return f": {facts['error']}" if facts.get("error") else ""


def sentence(kind: Kind, facts: dict[str, Any]) -> str:
    """One line a person reads first (Slack's text, the mail's first line)."""
    return _SENTENCES[kind](facts)


def payload(kind: Kind, facts: dict[str, Any], *, occurred_at: datetime) -> dict[str, Any]:
    """The JSON a webhook receives; Slack and mail are written from it."""
    clean = {key: value for key, value in facts.items() if value is not None}
    return {
        "kind": kind,
        "title": TITLES[kind],
        "message": sentence(kind, facts),
        "occurred_at": occurred_at.isoformat(),
        **clean,
    }


def header_value(text: str, *, limit: int = 200) -> str:
    """`text` as one header line: every control or line-separator character (CR, LF, NUL,
    U+2028, ...) becomes a space, so a database named with a newline cannot add a header."""
    cleaned = "".join(
        " " if unicodedata.category(char) in {"Cc", "Zl", "Zp"} else char for char in text
    )
    return cleaned.strip()[:limit]


def email_text(body: dict[str, Any]) -> tuple[str, str]:
    """(subject, plain-text body) of the mail for a payload; the subject is header-safe."""
    subject = f"[Databasement] {body.get('title', 'Notification')}: {body.get('message', '')}"
    lines = [str(body.get("message", "")), ""]
    lines += [f"{key}: {value}" for key, value in sorted(body.items()) if key != "message"]
    return header_value(subject), "\n".join(lines) + "\n"
