"""A stack of a test module's own: its broker namespace, database, staging and logs."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from tests.fixtures.resources import database_url, scratch_namespace, scratch_pg_database
from tests.support.stack import Stack, start_stack_at


@contextlib.asynccontextmanager
async def isolated_stack(
    rabbit_url: str, postgres_url: str, root: Path, *, name: str, settings: Mapping[str, str]
) -> AsyncIterator[Stack]:
    """The four services on a namespace and a database named from `name`, with staging and
    logs under `root`; stopped after, then the database and the namespace removed."""
    async with (
        scratch_namespace(rabbit_url, name) as namespace,
        scratch_pg_database(postgres_url, f"dbm_{name}_") as database,
    ):
        stack = await asyncio.to_thread(
            start_stack_at,
            root,
            namespace=namespace,
            database_url=database_url(postgres_url, database),
            settings=settings,
        )
        with stack:
            yield stack
