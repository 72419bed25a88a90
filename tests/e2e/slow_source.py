"""A PostgreSQL database reached through a proxy whose rate the test sets: a dump that takes a
few seconds, so a waiting client sees it in progress and moving."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from tests.fixtures.resources import scratch_pg_database
from tests.support.proxy import TcpProxy

ROWS = 150_000
"""About 6 MB of dump: several of the e2e dumper's 1 MiB blocks."""
SQL = (
    "CREATE TABLE items AS SELECT g AS id, md5(g::text) AS digest"
    f" FROM generate_series(1, {ROWS}) AS g"
)
SLOW_RATE = 1_000_000.0
"""Bytes per second once slowed: the dump then takes about 6 s."""


@dataclass
class SlowSource:
    database: str
    proxy: TcpProxy

    @property
    def port(self) -> int:
        return self.proxy.port

    def slow_down(self) -> None:
        self.proxy.downstream_rate = SLOW_RATE


@asynccontextmanager
async def slow_source(postgres_url: str) -> AsyncIterator[SlowSource]:
    """A fresh database of `ROWS` rows behind an open proxy, at full speed until slowed."""
    async with scratch_pg_database(postgres_url, "dbm_slow_", sql=SQL) as name:
        proxy = TcpProxy("127.0.0.1", 5432)
        await proxy.open()
        try:
            yield SlowSource(name, proxy)
        finally:
            await proxy.close()
