"""API tokens: random, shown once, kept only as their SHA-256. Pure."""

import hashlib
import secrets

PREFIX = "dbm_"


def new_token() -> str:
    """A fresh bearer token, `dbm_` then 43 URL-safe characters."""
    return PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What is stored and looked up: the hex SHA-256 of the whole token."""
    return hashlib.sha256(token.encode()).hexdigest()
