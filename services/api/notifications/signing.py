"""Webhook signatures: HMAC-SHA256 over the timestamp and the raw body (docs/notifications.md).

The signed bytes are `<timestamp>.<raw body>`, so a captured request cannot be replayed with
another timestamp; a receiver refuses timestamps too far from its clock.
"""

import hashlib
import hmac

SIGNATURE_HEADER = "X-Databasement-Signature"
TIMESTAMP_HEADER = "X-Databasement-Timestamp"
PREFIX = "sha256="


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header value: `sha256=<hex HMAC-SHA256 of b"<timestamp>." + body>`."""
    message = str(timestamp).encode() + b"." + body
    return PREFIX + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers a webhook request carries."""
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        "Content-Type": "application/json",
    }


def is_valid(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """What a receiver checks (in constant time): the header matches the body and timestamp."""
    try:
        expected = signature(secret, int(timestamp), body)
    except ValueError:
        return False
    return hmac.compare_digest(expected, header)
