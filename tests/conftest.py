"""Shared fixtures: real servers (session) and per-test resources (function)."""

from collections.abc import Iterator

import pytest
import structlog

pytest_plugins = [
    "tests.fixtures.servers",
    "tests.fixtures.dropping",
    "tests.fixtures.resources",
    "tests.fixtures.s3",
]


@pytest.fixture(autouse=True)
def _clear_log_context() -> Iterator[None]:
    """Log context bound by one test never leaks into the next."""
    structlog.contextvars.clear_contextvars()
    yield
    structlog.contextvars.clear_contextvars()
