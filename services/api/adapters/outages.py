"""The driver's exceptions that mean the api's own PostgreSQL is restarting or away."""

import asyncpg

DATABASE_OUTAGES: tuple[type[Exception], ...] = (
    ConnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # "the database system is shutting down"
)
"""Answered 503 with a sentence instead of a 500 with a stack trace."""
