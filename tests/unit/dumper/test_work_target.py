"""The names a restore's work database and mark take: recognisable, within the limits."""

from types import SimpleNamespace
from uuid import UUID

import pytest
from pydantic import SecretStr

from services.dumper.errors import DumpError
from services.dumper.work_target import WorkTarget, restore_mark, work_database
from shared.specs import ConnectionSpec

RESTORE = UUID("0b6f3c3e-8a1e-4c55-9d1e-5f6a7b8c9d0e")


class TestNames:
    def test_the_work_database_carries_the_restore_id_within_postgres_63_bytes(self):
        name = work_database(RESTORE)
        assert name == "databasement_tmp_0b6f3c3e8a1e4c559d1e5f6a7b8c9d0e"
        assert len(name.encode()) <= 63

    def test_the_mark_is_a_mysql_table_name_within_64_characters(self):
        mark = restore_mark(RESTORE)
        assert mark == "databasement_restore_0b6f3c3e8a1e4c559d1e5f6a7b8c9d0e"
        assert len(mark) <= 64


class FakeServer:
    """Databases by name; the rename `refuse` (from, to) fails as a busy server's would."""

    def __init__(self, *names: str, refuse: tuple[str, str] | None = None) -> None:
        self.names = set(names)
        self.refuse = refuse

    async def exists(self, _spec: object, database: str) -> bool:
        return database in self.names

    async def drop(self, _spec: object, database: str) -> None:
        self.names.discard(database)

    async def rename(self, _spec: object, database: str, to: str) -> None:
        if (database, to) == self.refuse:
            raise DumpError(f"cannot rename database {database} to {to}")
        self.names.remove(database)
        self.names.add(to)

    async def in_use(self, _spec: object, _database: str) -> bool:
        return False


def pg_work(server: FakeServer) -> WorkTarget:
    spec = ConnectionSpec(
        type="postgresql", host="db", port=5432, username="u", password=SecretStr("pw")
    )
    request = SimpleNamespace(database="shop", restore_id=RESTORE)
    return WorkTarget(server, spec, request)  # type: ignore[arg-type]


class TestPostgresCommit:
    async def test_an_overwritten_target_is_set_aside_then_dropped(self):
        server = FakeServer("shop", work_database(RESTORE))
        await pg_work(server).commit(replacing=True)
        assert server.names == {"shop"}

    async def test_the_old_target_gets_its_name_back_when_the_new_one_cannot_take_it(self):
        work = work_database(RESTORE)
        server = FakeServer("shop", work, refuse=(work, "shop"))
        with pytest.raises(DumpError):
            await pg_work(server).commit(replacing=True)
        assert server.names == {"shop", work}

    async def test_a_stale_work_database_is_dropped_before_the_next_attempt(self):
        server = FakeServer(work_database(RESTORE))
        await pg_work(server).clear_leftover()
        assert server.names == set()
