"""The names a restore's work database and mark take: recognisable, within the limits."""

from uuid import UUID

from services.dumper.work_target import restore_mark, work_database

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
